"""HTTP: the app factory, blueprints per resource, one error shape, HTML-safe JSON, CORS, OpenAPI, SSE, the widget."""

from .app import create_app

__all__ = ["create_app"]
