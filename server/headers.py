"""Security headers on every response: the app's own files, the service worker, the API and its errors.

The PWA is plain files of our own, no third party, so the policy allows only 'self' (and data: images for
the icons the printed papers embed). No inline script or style either, but for the page itself: it carries
the first screen's script and stylesheet (server/pwa_page.py), and its own policy allows exactly those two
by their hashes (``policy_allowing``). Nothing may frame the app, and a letter's page never leaks its
address to another site.
"""

from __future__ import annotations

from flask import Flask, Response, request

_DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "manifest-src": "'self'",
    "worker-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy_allowing(scripts: list[str], styles: list[str]) -> str:
    """The policy, allowing besides 'self' the inline scripts and styles whose hash sources are given
    (``'sha256-…'``): never 'unsafe-inline', so no other inline script can run, an injected one included."""
    directives = dict(_DIRECTIVES)
    for name, sources in (("script-src", scripts), ("style-src", styles)):
        if sources:
            directives[name] = " ".join([directives[name], *sources])
    return "; ".join(f"{name} {value}" for name, value in directives.items())


CONTENT_SECURITY_POLICY = policy_allowing([], [])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)  # the page's own policy (server/pwa.py) stays
        if request.path.startswith("/api/"):
            # Answers carry letters and tokens: no cache of the browser or of a proxy keeps them.
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = HSTS
        return response
