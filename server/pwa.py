"""Serves the PWA's static shell at ``/``; nothing under ``/api/`` is ever a file."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, send_from_directory
from werkzeug.routing import PathConverter

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"


class ShellPathConverter(PathConverter):
    """A path outside ``/api/``, so an unknown API path is answered 404/405 by the API, not the shell."""

    regex = r"(?!api/)[^/].*?"


def _serve(filename: str) -> Response:
    response = send_from_directory(current_app.config.get("PWA_DIR", PWA_DIR), filename)
    if filename == "service-worker.js":
        # Always ask the server, so a new version of the shell is found on the next check.
        response.cache_control.no_cache = True
    return response


def init_app(app: Flask) -> None:
    app.url_map.converters["shell"] = ShellPathConverter

    @app.get("/")
    def index() -> Response:
        return _serve("index.html")

    @app.get("/<shell:filename>")
    def shell(filename: str) -> Response:
        return _serve(filename)
