"""`purgesim serve`: the dashboard (a Starlette app) and its queue of runs."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
