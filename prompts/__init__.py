"""Prompt templates (Jinja files), shipped with the package and loaded by name."""
