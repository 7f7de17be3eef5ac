"""A small Python client of the sync protocol, for tests, benchmarks and load tests.

``Outbox`` does in memory what the PWA does in IndexedDB: numbers mutations with a monotonic ``seq``,
keeps each until the server acknowledges it, and sets aside (never drops) what the server refuses.
The transport is pluggable, so tests can run it over Flask's test client and inject network faults.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.events import MAX_MUTATIONS_PER_PUSH

# (method, path, json body or None, headers) -> (status, json body). Raises OSError when the network fails.
Transport = Callable[[str, str, Any, dict[str, str]], tuple[int, Any]]


def _decode(status: int, raw: bytes) -> Any:
    """The JSON of an answer, as ``pwa/js/api.js`` reads it.

    An error page that is not ours (a proxy's HTML 502 or 503) has no code to branch on: it is still an
    answer with a status, so its body is None. A success whose body does not parse cannot be trusted as
    the server's answer: that is the network failing, and the caller retries.
    """
    try:
        return json.loads(raw) if raw else None
    except ValueError:  # UnicodeDecodeError is one too
        if 200 <= status < 300:
            raise ConnectionError("the answer could not be read") from None
        return None


def urllib_transport(base_url: str, timeout: float = 30.0) -> Transport:
    if not base_url.startswith(("http://", "https://")):
        raise ValueError("the server is reached over http:// or https://")

    def send(method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        # UTF-8 as it is, without spaces, as the PWA's JSON.stringify sends: the default \uXXXX escapes would
        # send each Cyrillic letter as six bytes instead of two.
        data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        url = base_url.rstrip("/") + path
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
        )
        try:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                    status, raw = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, raw = error.code, error.read()
        except http.client.HTTPException as error:
            # An answer cut short (IncompleteRead) or garbled (BadStatusLine) is the network failing like a
            # reset connection: the request may have been applied, and only a replay can tell. Callers retry
            # on OSError, so it must not escape as another kind of exception.
            raise ConnectionError("the connection broke before the answer was complete") from error
        return status, _decode(status, raw)

    return send


class SyncError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body

    @property
    def code(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


@dataclass
class SyncClient:
    transport: Transport
    token: str | None = None
    device_id: str | None = None

    def _call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        status, answer = self.transport(method, path, body, headers)
        if status != expect:
            raise SyncError(status, answer)
        return answer

    def login(self, username: str, password: str, device_name: str = "test device") -> dict[str, Any]:
        answer: dict[str, Any] = self._call(
            "POST",
            "/api/v1/auth/token",
            {"username": username, "password": password, "device_name": device_name},
            expect=201,
        )
        self.token, self.device_id = answer["token"], answer["device_id"]
        return answer

    def push(self, mutations: list[dict[str, Any]]) -> dict[str, Any]:
        answer: dict[str, Any] = self._call(
            "POST", "/api/v1/sync/push", {"device_id": self.device_id, "mutations": mutations}
        )
        return answer

    def pull(self, cursor: int = 0, limit: int = 100) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", f"/api/v1/sync/pull?cursor={cursor}&limit={limit}")
        return answer

    def pull_all(self, cursor: int = 0, limit: int = 100) -> tuple[list[dict[str, Any]], int]:
        """Every change after ``cursor``, page by page; returns them and the new cursor."""
        changes: list[dict[str, Any]] = []
        while True:
            page = self.pull(cursor, limit)
            changes.extend(page["changes"])
            cursor = page["cursor"]
            if not page["has_more"]:
                return changes, cursor


@dataclass
class Outbox:
    next_seq: int = 1
    pending: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # mutation id -> result
    needs_attention: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def add(self, type: str, appeal_id: str, data: dict[str, Any], base_version: int | None = None) -> dict[str, Any]:
        mutation = {
            "seq": self.next_seq,
            "id": str(uuid.uuid4()),
            "type": type,
            "appeal_id": appeal_id,
            "base_version": base_version,
            "data": data,
        }
        self.next_seq += 1
        self.pending.append(mutation)
        return mutation

    def _settle(self, mutation: dict[str, Any], result: dict[str, Any]) -> None:
        self.pending.remove(mutation)
        if result["status"] in ("applied", "duplicate"):
            self.acknowledged[mutation["id"]] = result
        else:
            self.needs_attention.append((mutation, result))

    def flush(self, client: SyncClient, batch_size: int = MAX_MUTATIONS_PER_PUSH) -> None:
        """Push until nothing is pending. Network errors propagate; calling again later is always safe."""
        while self.pending:
            batch = self.pending[:batch_size]
            answer = client.push(batch)
            by_seq = {m["seq"]: m for m in batch}
            for result in answer["results"]:
                self._settle(by_seq[result["seq"]], result)
