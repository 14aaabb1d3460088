"""Presentation: the one Jinja environment, templates, static files, error pages."""
