"""The PWA shell is served at / and never answers under /api/."""

import pytest


def test_index_is_the_shell(client):
    response = client.get("/")
    assert response.status_code == 200 and b'lang="ky"' in response.data
    response.close()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/nothing", 404, "not_found"),
        ("GET", "/api/v1/auth/token", 405, "method_not_allowed"),
        ("POST", "/api/v1/sync/pull", 405, "method_not_allowed"),
        ("GET", "/no-such-file.js", 404, "not_found"),
        ("GET", "/../wsgi.py", 404, "not_found"),
    ],
)
def test_unknown_paths_get_json_errors_without_a_token(client, method, path, status, code):
    response = client.open(path, method=method)
    assert (response.status_code, response.get_json()["error"]) == (status, code)
