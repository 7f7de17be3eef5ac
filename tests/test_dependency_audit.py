"""`.ci/audit.py`: pip-audit, for real, against an OSV-compatible service on loopback.

The service here answers as api.osv.dev does, with the real advisory PYSEC-2019-217 (CVE-2019-10906,
Jinja2's sandbox escape, fixed in 2.10.1). CI's own audit asks the real service; this test proves the
verdict: a known vulnerability fails, a clean set passes, and an audit that cannot run fails too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AUDIT = ROOT / ".ci" / "audit.py"

JINJA2_SANDBOX_ESCAPE = {
    "schema_version": "1.6.0",
    "id": "PYSEC-2019-217",
    "aliases": ["CVE-2019-10906", "GHSA-462w-v97r-4m45"],
    "summary": "In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape.",
    "published": "2019-04-07T00:29:00Z",
    "affected": [
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}],
        }
    ],
}


class _Osv(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name, version = query["package"]["name"], query["version"]
        affected = name == "jinja2" and version in {"2.10", "2.9.6"}
        body = json.dumps({"vulns": [JINJA2_SANDBOX_ESCAPE]} if affected else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Osv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    server.server_close()


def audit(requirements: str, tmp_path: Path, *service: str) -> subprocess.CompletedProcess[str]:
    pinned = tmp_path / "requirements.txt"
    pinned.write_text(requirements)
    return subprocess.run(  # noqa: S603 (the audit script with our own arguments)
        [sys.executable, str(AUDIT), "-r", str(pinned), "--no-deps", "--disable-pip",
         "--cache-dir", str(tmp_path / "cache"), *service],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_a_known_vulnerability_fails_the_audit(tmp_path, osv_url):
    result = audit("jinja2==2.10\nflask==3.1.3\n", tmp_path, "-s", "osv", "--osv-url", osv_url)
    assert result.returncode == 1, result.stderr
    assert "VULNERABLE jinja2 2.10: PYSEC-2019-217 (fixed in: 2.10.1)" in result.stdout
    assert "flask" not in result.stdout.lower()


def test_a_clean_set_passes(tmp_path, osv_url):
    result = audit("jinja2==3.1.6\nflask==3.1.3\n", tmp_path, "-s", "osv", "--osv-url", osv_url)
    assert result.returncode == 0, result.stderr
    assert "2 packages checked, no known vulnerability" in result.stdout


def test_an_audit_that_cannot_run_fails(tmp_path):
    result = audit("jinja2==2.10\n", tmp_path, "-s", "osv", "--osv-url", "http://127.0.0.1:9/v1/query")
    assert result.returncode == 2
    assert "FAILED to run" in result.stderr
