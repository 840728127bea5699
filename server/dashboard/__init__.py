"""The dashboard: static files (index.html, app.js, style.css) served at `/`.
The page talks only to the public GraphQL API; nothing here is rendered on
the server."""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def dashboard_files() -> StaticFiles:
    return StaticFiles(directory=STATIC, html=True)
