"""Prompt templates are files in ``prompts/`` (installed as ``newsdesk.prompts``), loaded by name."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["load_prompt"]


@lru_cache(maxsize=None)
def load_prompt(name: str) -> str:
    """The Jinja template ``prompts/<name>.jinja``."""
    resource = resources.files(__name__) / f"{name}.jinja"
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt template {name!r} in prompts/")
    return resource.read_text(encoding="utf-8")
