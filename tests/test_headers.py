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
    assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert ("no-store" in response.headers.get("Cache-Control", "")) == path.startswith("/api/")
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS would mean nothing


def test_an_answer_with_letters_is_never_stored_and_https_gets_hsts(client: FlaskClient, factory: Factory) -> None:
    device = factory.device(Role.PEDAGOGUE)
    factory.register(device)
    response = client.get(
        "/api/v1/sync/pull", headers={"Authorization": f"Bearer {device.token}"}, base_url="https://school.example"
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
