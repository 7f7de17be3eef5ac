"""Serves the PWA's static shell at ``/``; nothing under ``/api/`` is ever a file.

Each file is read and gzipped once per process and version of the file (its path, size and mtime), not
per request: the shell is small (under a megabyte with its icons) and the same bytes for every tablet.

Caching, two addresses per file:

- ``/js/app.js``, the address pages use: ``Cache-Control: no-cache`` with a strong ETag, so the browser keeps
  it and asks with ``If-None-Match`` (a 304 of a few hundred bytes) whether it is still current. This also
  stops a browser from guessing a lifetime from Last-Modified and mixing files of two versions before the
  worker is installed.
- ``/js/app.js?v=<version>``, the versioned address, where the version is the ETag of the bytes served
  (a hash of them): ``public, max-age=31536000, immutable`` while the version is current. The service worker
  precaches from these addresses (``_service_worker``), so a new version of the app downloads only the files
  that changed; the others come from the HTTP cache. A version that is not current any more is answered
  with today's file and ``no-cache``, never kept.

``service-worker.js`` is served with ``VERSIONS`` filled in: each file of its ``SHELL`` list with its version,
and ``BUILD``, one hash of them all. Any change to any file of the shell is thus a new worker, which the
browser finds on its next check and installs into a cache of its own build.

JavaScript under ``js/`` is served through ``server.pwa_bundle``: the first screen's modules in one bundle,
which ``index.html`` carries inline (``server.pwa_page``), ``js/app.js`` as the stub that hands them to the
modules loaded later, and those with their imports of the bundled ones taken from it. Their version is the
version of every ``.js`` file under ``js/``, since the bundle and the rewritten imports depend on them all.
Then JavaScript, CSS and JSON are minified (``server.pwa_minify``) before gzip; the ETag is the served bytes'.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter
from werkzeug.security import safe_join

from server import pwa_bundle, pwa_minify, pwa_page
from server.compression import COMPRESSIBLE, MIN_BYTES, STATIC_LEVEL, accepts_gzip, gzip_bytes

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
mimetypes.add_type("application/manifest+json", ".webmanifest")
log = logging.getLogger(__name__)


class ShellPathConverter(PathConverter):
    """A path outside ``/api/``, so an unknown API path is answered 404/405 by the API, not the shell."""

    regex = r"(?!api/)[^/].*?"


@dataclass(frozen=True)
class ShellFile:
    """One version of one file: its bytes, their gzip (None when not worth it) and their validators."""

    version: object  # (size, mtime_ns), for JavaScript of every module: a changed file is read again
    mimetype: str
    body: bytes
    gzipped: bytes | None
    etag: str
    modified: datetime
    policy: str | None = None  # the page's own Content Security Policy (server/pwa_page.py)


IMMUTABLE = "public, max-age=31536000, immutable"  # a year: what browsers take as "for good"
SERVICE_WORKER = "service-worker.js"
# The lines of service-worker.js that the server fills in; the worker as it is on disk has them empty.
_VERSIONS_LINE = re.compile(r"^const VERSIONS = \{\};", re.M)
_BUILD_LINE = re.compile(r"^const BUILD = '';", re.M)
_SHELL_LIST = re.compile(r"^const SHELL = \[(?P<paths>[^\]]*)\];", re.M)

_files: dict[str, ShellFile] = {}
_builds: dict[str, tuple[object, pwa_bundle.Build | None]] = {}  # directory -> (version, what it serves)


def _stat(path: str) -> tuple[str, int, int]:
    """A file's version: its path, size and mtime (a missing file is a version too)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return (path, -1, 0)
    return (path, stat.st_size, stat.st_mtime_ns)


def _versions_under(directory: str, suffix: str = "") -> tuple[tuple[str, int, int], ...]:
    """Every file under ``directory`` (ending in ``suffix``) with its size and mtime."""
    found = []
    for folder, _subfolders, names in os.walk(directory):
        for name in names:
            if name.endswith(suffix):
                found.append(_stat(os.path.join(folder, name)))
    return tuple(sorted(found))


def _module_versions(directory: str) -> tuple[tuple[str, int, int], ...]:
    """Every module under ``js/``: the version of the bundle and the rewrites."""
    return _versions_under(os.path.join(directory, "js"), ".js")


def _built(directory: str) -> pwa_bundle.Build | None:
    """The modules as served, built once per version of them: None when any cannot be bundled or rewritten,
    and every module is then served as it is (the browser walks the import graph itself: slower, still one
    instance of each module)."""
    version = _module_versions(directory)
    cached = _builds.get(directory)
    if cached is None or cached[0] != version:
        try:
            built: pwa_bundle.Build | None = pwa_bundle.build(Path(directory))
        except pwa_bundle.BundleError:
            log.exception("the PWA's modules are served unbundled")
            built = None
        cached = (version, built)
        _builds[directory] = cached
    return cached[1]


def _javascript(directory: str, module: str, body: bytes) -> bytes:
    """A module as served: the stub or the bundle for the entry, imports from it for the modules outside it."""
    built = _built(directory)
    if built is None or module not in built.modules:
        return body
    return built.modules[module].encode("utf-8")


def shell_list(worker_source: str) -> list[str]:
    """The paths of the worker's ``SHELL`` list, e.g. ``/js/app.js``."""
    found = _SHELL_LIST.search(worker_source)
    return re.findall(r"'(/[^']+)'", found["paths"]) if found else []


def _service_worker(body: bytes, site: str) -> bytes:
    """The worker with ``VERSIONS`` and ``BUILD`` filled in."""
    source = body.decode("utf-8")
    versions = {}
    for shell_path in shell_list(source):
        path = safe_join(site, shell_path.lstrip("/"))
        if path is not None and os.path.isfile(path):
            versions[shell_path] = load(path, site).etag
    build = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:12]
    source = _VERSIONS_LINE.sub(lambda _: f"const VERSIONS = {json.dumps(versions)};", source, count=1)
    source = _BUILD_LINE.sub(lambda _: f"const BUILD = '{build}';", source, count=1)
    return source.encode("utf-8")


def load(path: str, directory: str | None = None) -> ShellFile:
    """The file at ``path`` from the process's cache, read and compressed again only when it changed.

    With ``directory`` (the site's folder), a module under ``js/`` is served as ``server.pwa_bundle`` makes it,
    ``index.html`` as ``server.pwa_page`` makes it and the service worker with its versions filled in: each
    is versioned by every file it is made of.
    """
    site = directory or ""  # without a site folder (tests of the cache), the file is served as it is
    module = os.path.relpath(path, site).replace(os.sep, "/") if site else ""
    javascript = module.startswith("js/") and module.endswith(".js")
    page = module == "index.html"
    worker = bool(site) and module == SERVICE_WORKER
    stat = os.stat(path)
    made_of = [(path, stat.st_size, stat.st_mtime_ns)]
    if worker:
        made_of += _versions_under(site)  # it names the version of every file it lists
    elif page:
        made_of += [_stat(inputs) for inputs in pwa_page.inputs(site)] + list(_module_versions(site))
    elif javascript:
        made_of += _module_versions(site)
    version: object = tuple(made_of)
    modified_ns = max(entry[2] for entry in made_of)
    cached = _files.get(path)
    if cached is not None and cached.version == version:
        return cached
    with open(path, "rb") as file:
        body = file.read()
    policy = None
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if worker:
        body = _service_worker(body, site)
    if javascript:
        body = _javascript(site, module, body)
    if page:
        served = pwa_page.serve(body, site, _built(site))
        body, policy = served.body, served.policy
    else:
        body = pwa_minify.minify(mimetype, body)  # the page's script and style are minified as it is made
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
        datetime.fromtimestamp(modified_ns / 1e9, UTC),
        policy,
    )
    _files[path] = entry
    return entry


def _serve(filename: str) -> Response:
    directory = str(current_app.config.get("PWA_DIR", PWA_DIR))
    path = safe_join(directory, filename)
    if path is None or not os.path.isfile(path):
        raise NotFound()
    entry = load(path, directory)
    gzip_it = entry.gzipped is not None and accepts_gzip(request)
    response = Response(entry.gzipped if gzip_it else entry.body, mimetype=entry.mimetype)
    if entry.policy is not None:
        response.headers["Content-Security-Policy"] = entry.policy
    if entry.gzipped is not None:
        response.vary.add("Accept-Encoding")
    if gzip_it:
        response.headers["Content-Encoding"] = "gzip"
    # Each representation its own strong validator, so a cache never answers gzip to a plain request.
    response.set_etag(f"{entry.etag}-gzip" if gzip_it else entry.etag)
    response.last_modified = entry.modified
    if filename != SERVICE_WORKER and request.args.get("v") == entry.etag:
        response.headers["Cache-Control"] = IMMUTABLE  # the versioned address: these bytes, for good
    else:
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
