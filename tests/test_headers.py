"""Security headers on every response: the shell, the service worker, the API, its errors, unknown paths."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from server.headers import CONTENT_SECURITY_POLICY
from sync.events import Role
from tests.factory import Factory

EXPECTED_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def test_the_policy_is_the_one_the_product_promises() -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/service-worker.js", 200),
        ("GET", "/js/app.js", 200),
        ("GET", "/manifest.webmanifest", 200),
        ("GET", "/no-such-file.js", 404),
        ("GET", "/api/v1/openapi.json", 200),
        ("GET", "/api/v1/me", 401),
        ("GET", "/api/v1/no-such-endpoint", 404),
        ("PUT", "/api/v1/sync/push", 405),
        ("POST", "/api/v1/auth/token", 422),
    ],
)
def test_every_response_carries_the_headers(client: FlaskClient, method: str, path: str, status: int) -> None:
    with client.open(path, method=method, json={} if method == "POST" else None) as response:
        response.get_data()  # a file is streamed: read it, and the block closes it
    assert response.status_code == status
    if path != "/":  # the page has a policy of its own: the test below
        assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert ("no-store" in response.headers.get("Cache-Control", "")) == path.startswith("/api/")
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS would mean nothing


def test_the_page_allows_its_own_script_and_style_by_their_hashes_and_nothing_else(client: FlaskClient) -> None:
    """The page carries the first screen's script and stylesheet (server/pwa_page.py): its policy is the
    product's with exactly their two hashes added, no 'unsafe-inline', so no other inline code runs."""
    import base64
    import hashlib
    import re

    with client.get("/") as response:
        page = response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    (script,) = re.findall(r'<script type="module">(.*?)</script>', page, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)

    def source(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    expected = EXPECTED_CSP.replace("script-src 'self'", f"script-src 'self' {source(script)}").replace(
        "style-src 'self'", f"style-src 'self' {source(style)}"
    )
    assert policy == expected and "unsafe" not in policy
    assert len(script) > 10_000 and "<script" not in script.lower() and "<!--" not in script


def test_an_answer_with_letters_is_never_stored_and_https_gets_hsts(client: FlaskClient, factory: Factory) -> None:
    device = factory.device(Role.PEDAGOGUE)
    factory.register(device)
    response = client.get(
        "/api/v1/sync/pull", headers={"Authorization": f"Bearer {device.token}"}, base_url="https://school.example"
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
