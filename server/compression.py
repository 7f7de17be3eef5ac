"""gzip in the app itself, so that one school serving gunicorn without a reverse proxy gets it too.

Two paths. The shell's files are compressed once, when ``server.pwa`` builds the shell (not here),
because they are the same bytes for everyone. API answers are compressed here, after the view, but only for
the endpoints in ``COMPRESSED_ENDPOINTS``: an allowlist, so a new endpoint is sent plain until someone has
asked whether it carries a secret.

Why an allowlist (BREACH): when one compressed answer holds both a secret and text an attacker chose, its
length tells the attacker how much of their text matched the secret. The pull carries letters in the clear
(inside TLS) next to letters anyone may write and drop in the box; the token answer and the password
changes carry credentials. Those are never compressed. What is compressed holds figures, settings, the
staff's accounts and the OpenAPI document: nothing that a length could give away. docs/SECURITY.md says the
same for the reader.
"""

from __future__ import annotations

import gzip

from flask import Flask, Request, Response, request

# Below this a gzip header and the work cost more than they save.
MIN_BYTES = 1024
# Level 6 per answer: zlib's default, most of level 9's gain for a fraction of its time on a 2-core server.
# Level 9 for the shell's files, which are compressed once, when the shell is built.
LEVEL = 6
STATIC_LEVEL = 9
COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/manifest+json",
        "application/javascript",
        "text/javascript",
        "text/css",
        "text/html",
        "text/csv",
        "text/plain",
        "image/svg+xml",
    }
)
# API answers without a secret beside attacker-chosen text (see the module's docstring). Not here on
# purpose: auth.issue_token, me.change_password, admin.reset_password, admin.create_user (credentials),
# sync.pull (letters), sync.push (small receipts: nothing to gain).
COMPRESSED_ENDPOINTS = frozenset(
    {
        "api-docs.openapi_json",
        "me.me",
        "reports.dashboard",
        "reports.monthly",
        "district.district_figures",
        "audit.reads",
        "audit.erasures",
        "admin.list_users",
        "admin.list_devices",
        "admin.get_settings",
    }
)


def accepts_gzip(req: Request) -> bool:
    """Whether the client takes gzip (``Accept-Encoding: gzip`` or ``*`` with a quality above zero)."""
    return req.accept_encodings["gzip"] > 0


def gzip_bytes(data: bytes, level: int = LEVEL) -> bytes:
    # mtime=0: the same input gives the same bytes, so an ETag of the compressed form stays stable.
    return gzip.compress(data, compresslevel=level, mtime=0)


def add_vary(response: Response) -> None:
    """Caches must keep the plain and the gzipped answer apart."""
    response.vary.add("Accept-Encoding")


def compress_response(response: Response) -> Response:
    """Gzip ``response`` in place when it is worth it and safe; otherwise leave it as it is."""
    if response.mimetype not in COMPRESSIBLE:
        return response
    add_vary(response)
    if (
        response.direct_passthrough  # a file handed to the server as it is (send_file)
        or response.is_streamed  # a generator: compressing would have to buffer it whole
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
        or "Content-Encoding" in response.headers
        or "no-transform" in response.headers.get("Cache-Control", "")
        or not accepts_gzip(request)
    ):
        return response
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    compressed = gzip_bytes(data)
    if len(compressed) >= len(data):
        return response
    response.set_data(compressed)  # also sets Content-Length to the compressed size
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag:
        # Another representation needs another validator, or a cache could answer gzip to a plain request.
        response.set_etag(f"{etag}-gzip", bool(weak))
    return response


def init_app(app: Flask) -> None:
    @app.after_request
    def _compress(response: Response) -> Response:
        if request.endpoint in COMPRESSED_ENDPOINTS:
            return compress_response(response)
        return response
