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

    from server.pwa import load_shell

    shell = served_pwa
    catalog = json.loads((shell / "locales/ky.json").read_text(encoding="utf-8"))
    catalog["app.title"] = "</script><script>alert(1)</script><!--"
    (shell / "locales/ky.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    load_shell(app)

    first = client.get("/")
    page = first.get_data(as_text=True)
    blocks = re.findall(r'<script type="application/json" id="catalog-ky">(.*?)</script>', page, re.S)
    assert len(blocks) == 1 and "<" not in blocks[0]
    assert json.loads(blocks[0]) == catalog
    assert page.count("<script") == 2  # the module and the data block: the catalog opened none

    catalog["app.title"] = "Ишеним"
    (shell / "locales/ky.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    load_shell(app)
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != first.headers["ETag"]


def _served_versions(client) -> tuple[dict[str, str], str]:
    """The ``VERSIONS`` and ``BUILD`` that the served worker carries."""
    import json
    import re

    worker = client.get("/service-worker.js").get_data(as_text=True)
    versions = re.search(r"const VERSIONS ?= ?(\{[^;]*\});", worker)
    build = re.search(r"const BUILD ?= ?'([0-9a-f]*)';", worker)
    assert versions and build, "the worker is served without its versions"
    return json.loads(versions.group(1)), build.group(1)


def test_the_worker_names_the_version_of_every_file_it_precaches(client):
    """Each version is the ETag of the bytes the file is served as (bundled, minified), gzip or not."""
    from server.pwa import PWA_DIR, shell_list

    versions, build = _served_versions(client)
    assert sorted(versions) == sorted(shell_list((PWA_DIR / "service-worker.js").read_text()))
    assert len(build) == 12
    for path, version in versions.items():
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["ETag"].strip('"').removesuffix("-gzip") == version, path
        response.close()


def test_a_versioned_address_is_cached_for_good_and_only_while_it_is_current(client):
    versions, _ = _served_versions(client)
    for path in ("/js/app.js", "/js/ui/journal.js", "/css/app.css", "/index.html", "/icons/icon-192.png"):
        current = client.get(f"{path}?v={versions[path]}")
        assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
        plain = client.get(path)
        assert plain.headers["Cache-Control"] == "no-cache", path
        assert current.data == plain.data
        stale = client.get(f"{path}?v=0123456789abcdef0123456789abcdef")
        assert stale.headers["Cache-Control"] == "no-cache" and stale.data == plain.data, path
        for response in (current, plain, stale):
            response.close()
    worker = client.get(f"/service-worker.js?v={versions['/js/app.js']}")
    assert worker.headers["Cache-Control"] == "no-cache"  # the worker itself is always asked again
    worker.close()


def test_a_changed_file_changes_its_version_the_build_and_so_the_worker(app, client, served_pwa):
    """The browser finds a new worker whenever any file of the shell changed, with no version to bump."""
    import os

    from server.pwa import load_shell

    versions, build = _served_versions(client)
    stylesheet = served_pwa / "css/print.css"
    stylesheet.write_text(stylesheet.read_text() + "\n.changed { color: red; }\n")
    stat = stylesheet.stat()
    os.utime(stylesheet, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a coarse clock must see it too
    load_shell(app)
    after, new_build = _served_versions(client)
    assert after["/css/print.css"] != versions["/css/print.css"] and new_build != build
    assert {p: v for p, v in after.items() if p != "/css/print.css"} == {
        p: v for p, v in versions.items() if p != "/css/print.css"
    }


def test_apps_on_one_folder_share_one_build_until_a_file_of_it_changes(app, served_pwa):
    """The process keeps its build of each folder: the many apps of a test run, or of a CLI command, build
    the shell once, and an app made after a file changed builds it again."""
    import os

    from server.pwa import EXTENSION, shell_of

    built = app.extensions[EXTENSION]
    assert shell_of(str(served_pwa)) is built
    manifest = served_pwa / "manifest.webmanifest"
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert shell_of(str(served_pwa)) is not built


def test_in_debug_a_changed_file_is_served_at_once(app, client, served_pwa):
    """``flask run --debug``: each request to the shell looks at the folder, and a change is a new build."""
    import os

    app.debug = True
    before, _ = _served_versions(client)
    stylesheet = served_pwa / "css/print.css"
    stylesheet.write_text(stylesheet.read_text() + "\n.changed-in-debug { color: red; }\n")
    stat = stylesheet.stat()
    os.utime(stylesheet, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a coarse clock must see it too
    served = client.get("/css/print.css")
    assert b"changed-in-debug" in served.data
    after, _ = _served_versions(client)
    assert after["/css/print.css"] != before["/css/print.css"]
    served.close()


def test_symlinks_are_followed_and_a_dangling_one_is_no_file(app, client, served_pwa, tmp_path):
    """A file of the shell may be a link to one outside it (``js/spec.json`` to ``sync/spec.json``)."""
    import json

    from server.pwa import load_shell

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shared.json").write_text(json.dumps({"linked": True}, indent=2))
    (served_pwa / "js/linked.json").symlink_to(outside / "shared.json")
    (served_pwa / "js/folder").symlink_to(outside, target_is_directory=True)
    (served_pwa / "js/dangling.json").symlink_to(tmp_path / "nothing.json")
    load_shell(app)
    for path in ("/js/linked.json", "/js/folder/shared.json"):
        linked = client.get(path)
        assert linked.status_code == 200 and linked.mimetype == "application/json", path
        assert linked.data == b'{"linked":true}'  # minified, as every JSON file is
        linked.close()
    assert client.get("/js/dangling.json").status_code == 404
