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


def test_the_page_carries_the_kyrgyz_catalog_inline_and_nothing_in_it_can_close_the_block(app, client, served_pwa):
    """server/pwa.py writes locales/ky.json into index.html as a JSON data block (pwa/js/i18n.js reads it), so
    a fresh device's first screen needs no request for it; a changed catalog is a new page (a new ETag)."""
    import json
    import re

    shell = served_pwa
    catalog = json.loads((shell / "locales/ky.json").read_text(encoding="utf-8"))
    catalog["app.title"] = "</script><script>alert(1)</script><!--"
    (shell / "locales/ky.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")

    first = client.get("/")
    page = first.get_data(as_text=True)
    blocks = re.findall(r'<script type="application/json" id="catalog-ky">(.*?)</script>', page, re.S)
    assert len(blocks) == 1 and "<" not in blocks[0]
    assert json.loads(blocks[0]) == catalog
    assert page.count("<script") == 2  # the module and the data block: the catalog opened none

    catalog["app.title"] = "Ишеним"
    (shell / "locales/ky.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != first.headers["ETag"]
