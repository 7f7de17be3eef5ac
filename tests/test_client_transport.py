"""``sync.client.urllib_transport`` sends what the PWA sends: compact JSON in UTF-8, not ``\\u`` escapes."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from sync.client import urllib_transport


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        answer = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[bytes]]]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.received
    server.shutdown()
    server.server_close()


def test_a_body_goes_as_compact_utf8(recorder: tuple[str, list[bytes]]) -> None:
    url, received = recorder
    body = {"summary": "Класста мени балдар шылдыңдашат", "n": 1}
    assert urllib_transport(url)("POST", "/api/v1/sync/push", body, {}) == (200, {})
    assert received == [json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()]
    assert b"\\u" not in received[0]
