"""gzip and caching: the shell's files compressed once, when it is built; API answers only where no secret is."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient

from server import pwa
from server.compression import COMPRESSED_ENDPOINTS, MIN_BYTES, compress_response
from server.pwa import PWA_DIR
from sync.events import Role
from tests.factory import Factory

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def get(client: FlaskClient, path: str, **headers: str) -> tuple[Response, bytes]:
    with client.get(path, headers=headers) as response:
        return response, response.get_data()


def served(path: str) -> bytes:
    """The file as the server sends it before gzip: minified, app.js bundled, index.html with its catalog
    (tests/test_pwa_minify.py and tests/test_pwa_bundle.py test those; here it is the same bytes each time)."""
    return pwa.shell_of(str(PWA_DIR)).files["index.html" if path == "/" else path.lstrip("/")].body


@pytest.mark.parametrize("path", ["/", "/js/store.js", "/css/app.css", "/locales/ky.json", "/service-worker.js"])
def test_a_shell_file_is_gzipped_for_a_client_that_takes_gzip(client: FlaskClient, path: str) -> None:
    on_disk = served(path)
    assert len(on_disk) >= MIN_BYTES
    zipped, body = get(client, path, **GZIP)
    assert zipped.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert int(zipped.headers["Content-Length"]) == len(body) < len(on_disk)
    assert gzip.decompress(body) == on_disk

    plain, body = get(client, path)
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert body == on_disk and int(plain.headers["Content-Length"]) == len(on_disk)
    assert plain.headers["ETag"] != zipped.headers["ETag"]  # two representations, two validators
    assert plain.mimetype == zipped.mimetype


def test_gzip_refused_with_q_0_is_not_sent(client: FlaskClient) -> None:
    response, body = get(client, "/js/app.js", **{"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers
    assert body == served("/js/app.js")


def test_images_are_not_gzipped_again(client: FlaskClient) -> None:
    response, body = get(client, "/icons/icon-192.png", **GZIP)
    assert response.mimetype == "image/png"
    assert "Content-Encoding" not in response.headers and "Vary" not in response.headers
    assert body == (PWA_DIR / "icons/icon-192.png").read_bytes()


def test_types_stay_what_the_browser_needs(client: FlaskClient) -> None:
    assert get(client, "/js/app.js", **GZIP)[0].mimetype == "text/javascript"  # module scripts need a JS type
    assert get(client, "/service-worker.js", **GZIP)[0].mimetype == "text/javascript"
    assert get(client, "/manifest.webmanifest", **GZIP)[0].mimetype == "application/manifest+json"
    assert get(client, "/", **GZIP)[0].mimetype == "text/html"


@pytest.mark.parametrize("path", ["/", "/service-worker.js", "/js/app.js", "/icons/icon-192.png"])
def test_shell_files_are_revalidated_and_a_match_is_a_304(client: FlaskClient, path: str) -> None:
    first, _ = get(client, path, **GZIP)
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.headers["Last-Modified"]
    etag = first.headers["ETag"]
    again, body = get(client, path, **GZIP, **{"If-None-Match": etag})
    assert again.status_code == 304 and body == b""
    assert again.headers["ETag"] == etag


def test_the_gzip_validator_does_not_match_a_plain_request(client: FlaskClient) -> None:
    zipped, _ = get(client, "/js/store.js", **GZIP)
    plain, body = get(client, "/js/store.js", **{"If-None-Match": zipped.headers["ETag"]})
    assert plain.status_code == 200 and body == served("/js/store.js")


def test_a_file_is_compressed_when_the_shell_is_built_and_never_while_answering(
    app: Flask, client: FlaskClient, served_pwa: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request picks the built bytes, gzip and ETag out (server/pwa.py): it neither looks at the folder nor
    reads, rewrites or compresses a file, so a change is served only once the shell is built again."""
    target = served_pwa / "js" / "store.js"
    built = app.extensions[pwa.EXTENSION].files["js/store.js"]

    def untouchable(*args: object, **kwargs: object) -> None:
        raise AssertionError("the shell was looked at while answering a request")

    for name in ("stamp", "build", "gzip_bytes"):
        monkeypatch.setattr(pwa, name, untouchable)
    first, body = get(client, "/js/store.js", **GZIP)
    assert body == built.gzipped and first.headers["ETag"] == f'"{built.etag}-gzip"'

    target.write_text(target.read_text() + "\nexport const A_NEW_VERSION_OF_THE_SHELL = 1;\n")
    unchanged, body = get(client, "/js/store.js", **GZIP, **{"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304  # what the build was made from, until it is built again

    monkeypatch.undo()
    pwa.load_shell(app)  # what a restart does
    second, body = get(client, "/js/store.js", **GZIP, **{"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and b"A_NEW_VERSION_OF_THE_SHELL" in gzip.decompress(body)
    assert second.headers["ETag"] != first.headers["ETag"]


def test_the_api_document_is_gzipped(client: FlaskClient) -> None:
    zipped, body = get(client, "/api/v1/openapi.json", **GZIP)
    plain, plain_body = get(client, "/api/v1/openapi.json")
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert int(zipped.headers["Content-Length"]) == len(body) < len(plain_body) / 3
    assert json.loads(gzip.decompress(body)) == json.loads(plain_body)
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Cache-Control"] == "no-store"  # the API's own header survives


def test_figures_are_gzipped_for_the_director(client: FlaskClient, factory: Factory) -> None:
    school = factory.school()
    factory.register(factory.device(Role.PEDAGOGUE, school), count=3)
    director = factory.device(Role.DIRECTOR, school)
    auth = {"Authorization": f"Bearer {director.token}"}
    zipped, body = get(client, "/api/v1/dashboard", **GZIP, **auth)
    plain, plain_body = get(client, "/api/v1/dashboard", **auth)
    assert zipped.status_code == plain.status_code == 200
    assert len(plain_body) >= MIN_BYTES
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(body)) == json.loads(plain_body)


def test_letters_and_tokens_are_never_compressed(client: FlaskClient, factory: Factory) -> None:
    """BREACH: a pull holds letters beside text anyone may write; a token answer holds the credential."""
    device = factory.device(Role.PEDAGOGUE)
    factory.register(device, count=5, text="Canary text that repeats, repeats, repeats. " * 20)
    pulled, body = get(client, "/api/v1/sync/pull", **GZIP, **{"Authorization": f"Bearer {device.token}"})
    assert pulled.status_code == 200 and len(body) > 10 * MIN_BYTES
    assert "Content-Encoding" not in pulled.headers
    assert b"Canary text" in body

    login = client.post(
        "/api/v1/auth/token",
        json={"username": "nobody", "password": "wrong password", "device_name": "Tablet"},
        headers=GZIP,
    )
    assert "Content-Encoding" not in login.headers
    for endpoint in ("sync.pull", "auth.issue_token", "me.change_password", "admin.reset_password"):
        assert endpoint not in COMPRESSED_ENDPOINTS


def test_what_is_not_worth_it_or_already_encoded_is_left_alone(app: Flask) -> None:
    big = b'{"a": "' + b"x" * 4096 + b'"}'
    with app.test_request_context(headers=GZIP):
        small = compress_response(Response(b'{"a": 1}', mimetype="application/json"))
        assert "Content-Encoding" not in small.headers and small.get_data() == b'{"a": 1}'

        done = Response(gzip.compress(big), mimetype="application/json", headers={"Content-Encoding": "gzip"})
        assert gzip.decompress(compress_response(done).get_data()) == big  # not twice

        streamed = compress_response(Response(iter([big]), mimetype="application/json"))
        assert "Content-Encoding" not in streamed.headers

        csv = compress_response(Response(big, mimetype="text/csv"))
        assert csv.headers["Content-Encoding"] == "gzip" and gzip.decompress(csv.get_data()) == big

        tagged = Response(big, mimetype="application/json")
        tagged.set_etag("abc")
        assert compress_response(tagged).get_etag() == ("abc-gzip", False)

        binary = compress_response(Response(big, mimetype="application/octet-stream"))
        assert "Content-Encoding" not in binary.headers
