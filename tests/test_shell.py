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


def test_the_service_worker_precaches_every_file_of_the_shell():
    """A file missing from the list would be missing offline: the list and the folder must agree."""
    import re

    from server.pwa import PWA_DIR

    listed = set(re.findall(r"'(/[^']+)'", (PWA_DIR / "service-worker.js").read_text().split("];")[0]))
    on_disk = {
        "/" + str(path.relative_to(PWA_DIR))
        for path in PWA_DIR.rglob("*")
        if path.is_file() and path.name != "service-worker.js"
    }
    assert listed == on_disk


def test_the_service_worker_is_always_revalidated(client):
    response = client.get("/service-worker.js")
    assert response.status_code == 200 and "no-cache" in response.headers["Cache-Control"]
    response.close()
