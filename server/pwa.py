"""Serves the PWA's static shell at ``/``; nothing under ``/api/`` is ever a file."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, send_from_directory
from werkzeug.routing import PathConverter

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"


class ShellPathConverter(PathConverter):
    """A path outside ``/api/``, so an unknown API path is answered 404/405 by the API, not the shell."""

    regex = r"(?!api/)[^/].*?"


def init_app(app: Flask) -> None:
    app.url_map.converters["shell"] = ShellPathConverter

    @app.get("/")
    def index() -> Response:
        return send_from_directory(PWA_DIR, "index.html")

    @app.get("/<shell:filename>")
    def shell(filename: str) -> Response:
        return send_from_directory(PWA_DIR, filename)
