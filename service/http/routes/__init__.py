"""HTTP blueprints, one per resource; views parse, call the layer below, serialize."""

from .articles import bp as articles_bp
from .ask import bp as ask_bp
from .health import bp as health_bp
from .jobs import bp as jobs_bp
from .metrics import bp as metrics_bp
from .openai_compat import bp as openai_bp
from .spec import bp as spec_bp
from .stream import bp as stream_bp
from .widget import bp as widget_bp

__all__ = ["articles_bp", "ask_bp", "health_bp", "jobs_bp", "metrics_bp", "openai_bp", "spec_bp", "stream_bp", "widget_bp"]
