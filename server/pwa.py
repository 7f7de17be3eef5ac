"""Serves the PWA's static shell at ``/``."""

from __future__ import annotations

from flask import Flask, Response, current_app


def init_app(app: Flask) -> None:
    @app.get("/")
    def index() -> Response:
        return current_app.send_static_file("index.html")
