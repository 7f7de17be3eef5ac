"""Serves the PWA's static shell at ``/``; nothing under ``/api/`` is ever a file.

Each file is read and gzipped once per process and version of the file (its path, size and mtime), not
per request: the shell is small (under a megabyte with its icons) and the same bytes for every tablet.

Caching: every shell file is ``Cache-Control: no-cache`` with a strong ETag, so the browser keeps it and
asks with ``If-None-Match`` (a 304 of a few hundred bytes) whether it is still current. No long-lived
``immutable`` URLs: the long-lived, versioned cache of this app is the service worker's Cache Storage
(VERSION in pwa/service-worker.js), which answers the shell without the network at all; it precaches with
``cache: 'reload'``, which skips the HTTP cache anyway. Versioned URLs would need every module import and
the SHELL list to carry the version, i.e. a build step this app does without. ``no-cache`` also stops a
browser from guessing a lifetime from Last-Modified and mixing files of two versions before the worker
is installed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter
from werkzeug.security import safe_join

from server.compression import COMPRESSIBLE, MIN_BYTES, STATIC_LEVEL, accepts_gzip, gzip_bytes

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
mimetypes.add_type("application/manifest+json", ".webmanifest")


class ShellPathConverter(PathConverter):
    """A path outside ``/api/``, so an unknown API path is answered 404/405 by the API, not the shell."""

    regex = r"(?!api/)[^/].*?"


@dataclass(frozen=True)
class ShellFile:
    """One version of one file: its bytes, their gzip (None when not worth it) and their validators."""

    version: tuple[int, int]  # (size, mtime_ns): a changed file is read again
    mimetype: str
    body: bytes
    gzipped: bytes | None
    etag: str
    modified: datetime


_files: dict[str, ShellFile] = {}


def load(path: str) -> ShellFile:
    """The file at ``path`` from the process's cache, read and compressed again only when it changed."""
    stat = os.stat(path)
    version = (stat.st_size, stat.st_mtime_ns)
    cached = _files.get(path)
    if cached is not None and cached.version == version:
        return cached
    with open(path, "rb") as file:
        body = file.read()
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    gzipped = gzip_bytes(body, STATIC_LEVEL) if mimetype in COMPRESSIBLE and len(body) >= MIN_BYTES else None
    if gzipped is not None and len(gzipped) >= len(body):
        gzipped = None
    # Two threads may both read a changed file; the second write replaces an equal entry, so no lock.
    entry = ShellFile(
        version,
        mimetype,
        body,
        gzipped,
        hashlib.sha256(body).hexdigest()[:32],
        datetime.fromtimestamp(stat.st_mtime, UTC),
    )
    _files[path] = entry
    return entry


def _serve(filename: str) -> Response:
    directory = str(current_app.config.get("PWA_DIR", PWA_DIR))
    path = safe_join(directory, filename)
    if path is None or not os.path.isfile(path):
        raise NotFound()
    entry = load(path)
    gzip_it = entry.gzipped is not None and accepts_gzip(request)
    response = Response(entry.gzipped if gzip_it else entry.body, mimetype=entry.mimetype)
    if entry.gzipped is not None:
        response.vary.add("Accept-Encoding")
    if gzip_it:
        response.headers["Content-Encoding"] = "gzip"
    # Each representation its own strong validator, so a cache never answers gzip to a plain request.
    response.set_etag(f"{entry.etag}-gzip" if gzip_it else entry.etag)
    response.last_modified = entry.modified
    # Always ask the server (a 304 when unchanged): see the module's docstring. For service-worker.js
    # this is what lets the browser find a new version of the shell on its next check.
    response.cache_control.no_cache = True
    response.make_conditional(request)  # in place: a 304 without the body when the ETag matches
    return response


def init_app(app: Flask) -> None:
    app.url_map.converters["shell"] = ShellPathConverter

    @app.get("/")
    def index() -> Response:
        return _serve("index.html")

    @app.get("/<shell:filename>")
    def shell(filename: str) -> Response:
        return _serve(filename)
