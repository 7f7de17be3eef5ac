"""Serves the PWA's static shell at ``/``; nothing under ``/api/`` is ever a file.

The shell is built once, never while answering a request: ``build`` reads every file under the PWA folder
(symlinks followed: ``js/spec.json`` may be one), makes each as it is served (below), gzips it and hashes it,
and serves from then on only what that build holds. ``init_app`` builds it when the app is made (about a
quarter of a second, most of it minifying JavaScript), so a gunicorn worker has it before its first request,
and with ``--preload`` the master builds it once for all the workers. The process keeps one build per
folder (``shell_of``): another app on the same folder, such as each test's, takes it after a walk and a stat
of every file (about a millisecond) shows that nothing changed. A changed file is served after a restart,
or at once in debug (``flask run --debug``), where each request to the shell takes that look again; tests
that change a file call ``load_shell`` as a restart would.

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
browser finds on its next check and installs into a cache of its own build. The bytes depend on the files
alone, so every process that builds the same folder serves the same versions.

JavaScript under ``js/`` is served through ``server.pwa_bundle``: the first screen's modules in one bundle,
which ``index.html`` carries inline (``server.pwa_page``), ``js/app.js`` as the stub that hands them to the
modules loaded later, and those with their imports of the bundled ones taken from it; when the bundler
refuses a module, every module is served as it is. Then JavaScript, CSS and JSON are minified
(``server.pwa_minify``) before gzip; the ETag is the served bytes'.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter

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
    """One file as served: its bytes, their gzip (None when not worth it) and their validators."""

    mimetype: str
    body: bytes
    gzipped: bytes | None
    etag: str
    modified: datetime
    policy: str | None = None  # the page's own Content Security Policy (server/pwa_page.py)


Stamp = tuple[tuple[str, int, int], ...]  # every file of a folder: its site path, size and mtime


@dataclass(frozen=True)
class Shell:
    """Every file of one PWA folder as served, by its path in the site (``js/app.js``)."""

    directory: str
    stamp: Stamp  # what it was built from: a folder whose stamp differs has changed since
    files: Mapping[str, ShellFile]


IMMUTABLE = "public, max-age=31536000, immutable"  # a year: what browsers take as "for good"
SERVICE_WORKER = "service-worker.js"
EXTENSION = "ishenim.shell"  # app.extensions: the app's Shell
# The lines of service-worker.js that the server fills in; the worker as it is on disk has them empty.
_VERSIONS_LINE = re.compile(r"^const VERSIONS = \{\};", re.M)
_BUILD_LINE = re.compile(r"^const BUILD = '';", re.M)
_SHELL_LIST = re.compile(r"^const SHELL = \[(?P<paths>[^\]]*)\];", re.M)

_shells: dict[str, Shell] = {}  # folder -> this process's latest build of it


def stamp(directory: str) -> Stamp:
    """Every file under ``directory``, symlinks followed, with its size and mtime."""
    found = []
    for folder, _subfolders, names in os.walk(directory, followlinks=True):
        for name in names:
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:  # a dangling symlink, or gone while we looked: not a file to serve
                continue
            found.append((os.path.relpath(path, directory).replace(os.sep, "/"), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


def _modules(directory: str) -> pwa_bundle.Build | None:
    """The modules as served: None when any cannot be bundled or rewritten, and every module is then served
    as it is (the browser walks the import graph itself: slower, still one instance of each module)."""
    try:
        return pwa_bundle.build(Path(directory))
    except pwa_bundle.BundleError:
        log.exception("the PWA's modules are served unbundled")
        return None


def shell_list(worker_source: str) -> list[str]:
    """The paths of the worker's ``SHELL`` list, e.g. ``/js/app.js``."""
    found = _SHELL_LIST.search(worker_source)
    return re.findall(r"'(/[^']+)'", found["paths"]) if found else []


def _service_worker(body: bytes, files: Mapping[str, ShellFile]) -> bytes:
    """The worker with ``VERSIONS`` (the ETag of each file it lists) and ``BUILD`` (their hash) filled in."""
    source = body.decode("utf-8")
    versions = {path: files[path[1:]].etag for path in shell_list(source) if path[1:] in files}
    build_id = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:12]
    source = _VERSIONS_LINE.sub(lambda _: f"const VERSIONS = {json.dumps(versions)};", source, count=1)
    source = _BUILD_LINE.sub(lambda _: f"const BUILD = '{build_id}';", source, count=1)
    return source.encode("utf-8")


def _served(mimetype: str, body: bytes, modified_ns: int, policy: str | None = None) -> ShellFile:
    gzipped = gzip_bytes(body, STATIC_LEVEL) if mimetype in COMPRESSIBLE and len(body) >= MIN_BYTES else None
    if gzipped is not None and len(gzipped) >= len(body):
        gzipped = None
    etag = hashlib.sha256(body).hexdigest()[:32]
    return ShellFile(mimetype, body, gzipped, etag, datetime.fromtimestamp(modified_ns / 1e9, UTC), policy)


def build(directory: str) -> Shell:
    """Every file under ``directory`` as served: the modules bundled and rewritten (``server.pwa_bundle``),
    ``index.html`` carrying the first screen (``server.pwa_page``), the rest minified (``server.pwa_minify``),
    each gzipped, and last the service worker with the versions of all of them.

    A file made from others (a bundled or rewritten module, the page, the worker) is as new as the newest
    file of the folder; any other as its own mtime."""
    made_from = stamp(directory)  # before reading: a file changed meanwhile is a change at the next look
    newest = max((mtime for _path, _size, mtime in made_from), default=0)
    modules = _modules(directory)
    files: dict[str, ShellFile] = {}
    worker: bytes | None = None
    for site_path, _size, mtime in made_from:
        try:
            with open(os.path.join(directory, site_path), "rb") as file:
                body = file.read()
        except FileNotFoundError:  # gone since the stamp: the next look sees it gone too
            continue
        mimetype = mimetypes.guess_type(site_path)[0] or "application/octet-stream"
        if site_path == SERVICE_WORKER:
            worker = body  # it names the version of every other file: made once they are made
        elif site_path == pwa_page.PAGE:
            page = pwa_page.serve(body, directory, modules)
            files[site_path] = _served(mimetype, page.body, newest, page.policy)
        elif modules is not None and site_path in modules.modules:
            served = pwa_minify.minify(mimetype, modules.modules[site_path].encode("utf-8"))
            files[site_path] = _served(mimetype, served, newest)
        else:
            files[site_path] = _served(mimetype, pwa_minify.minify(mimetype, body), mtime)
    if worker is not None:
        mimetype = mimetypes.guess_type(SERVICE_WORKER)[0] or "text/javascript"
        files[SERVICE_WORKER] = _served(mimetype, pwa_minify.minify(mimetype, _service_worker(worker, files)), newest)
    return Shell(directory, made_from, files)


def shell_of(directory: str) -> Shell:
    """This process's build of ``directory``, built again only when a file under it changed since."""
    current = _shells.get(directory)
    if current is None or current.stamp != stamp(directory):
        current = _shells[directory] = build(directory)
    return current


def load_shell(app: Flask) -> Shell:
    """The shell of the app's ``PWA_DIR``, taken for the app: when it is made, in debug at each request, and
    by whoever changed a file of it or pointed ``PWA_DIR`` elsewhere (tests; a server is restarted)."""
    shell = shell_of(str(app.config.get("PWA_DIR", PWA_DIR)))
    app.extensions[EXTENSION] = shell
    return shell


def _serve(filename: str) -> Response:
    # In debug (flask run --debug) an edited file is served at once; otherwise the folder is not even looked at.
    shell: Shell = load_shell(current_app) if current_app.debug else current_app.extensions[EXTENSION]
    entry = shell.files.get(filename)  # only what the build holds: nothing else on disk is ever a file here
    if entry is None:
        raise NotFound()
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
    load_shell(app)

    @app.get("/")
    def index() -> Response:
        return _serve(pwa_page.PAGE)

    @app.get("/<shell:filename>")
    def shell(filename: str) -> Response:
        return _serve(filename)
