"""200 tablets at once against a real gunicorn on SQLite: no errors, nothing lost, p95 ≤ 300 ms.

The server is started as a school starts it (``gunicorn wsgi:app`` on an instance directory), with
``--worker-class gthread --workers 2 --threads 4 --keep-alive 30``: one worker process per core, and a few
threads in each so that one request's fsync or socket wait does not idle the core. More threads buy nothing,
since SQLite has one writer and the pull of a pedagogue writes too (its audit trail of reads). gthread also
keeps idle keep-alive connections in a poller rather than in a thread, so 200 tablets holding a connection
each do not need 200 threads.

The devices are enrolled in-process beforehand through the services (the login throttle allows 30 logins a
minute per address, and a load test is not a test of logins). Each simulated tablet then loops: it writes
1 to 3 letters into its outbox, pushes them, pulls every change of its school since its cursor (its own
letters and its colleagues'), and waits a think time (uniform, ``ISHENIM_LOAD_THINK`` seconds on average,
default 15). The PWA syncs after a save and every 60 s, so 15 s is every one of the 200 users saving a
letter four times a minute at once: a district's peak, overstated. ``ISHENIM_LOAD_THINK=5`` is the stress
run that finds the server's capacity (docs/BENCHMARKS.md). ``ISHENIM_LOAD_SECONDS`` (default 60) shortens a
run.

The latency of a request is from its first byte sent to its answer read, a re-send after the server
closed an idle connection included. Afterwards every acknowledged mutation is looked for on the server:
an acknowledged letter that is not in the journal is lost.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade

from benchmarks.budget import figure, median, percentile
from server.db import db
from server.models import School
from server.services import accounts
from sync.client import Outbox, SyncClient, SyncError
from sync.events import Role
from tests.conftest import make_app
from tests.factory import PASSWORD, registration
from tests.faults import Gunicorn

DEVICES = 200
SCHOOLS = 40  # five tablets a school: a pedagogue's and the commission members' share the school's journal
SECONDS = float(os.environ.get("ISHENIM_LOAD_SECONDS", "60"))
THINK_SECONDS = float(os.environ.get("ISHENIM_LOAD_THINK", "15"))
WORKERS = int(os.environ.get("ISHENIM_LOAD_WORKERS", "2"))
THREADS = int(os.environ.get("ISHENIM_LOAD_THREADS", "4"))
# gthread closes an idle keep-alive connection after 2 s by default: shorter than a tablet's pause, so every
# sync would race the server's close. Behind nginx or Caddy the proxy holds the tablets' connections.
KEEP_ALIVE = 30
P95_BUDGET_MS = 300.0


@dataclass
class Tablet:
    token: str
    device_id: str
    latencies: list[float] = field(default_factory=list)  # ms, every request
    kinds: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0  # requests sent again on a new connection after the server closed an idle one
    outbox: Outbox = field(default_factory=Outbox)
    appeal_of: dict[str, str] = field(default_factory=dict)  # mutation id -> the appeal it registers
    cursor: int = 0


def _enrol(instance: Path, monkeypatch: pytest.MonkeyPatch) -> list[Tablet]:
    """A migrated instance with ``SCHOOLS`` schools and ``DEVICES`` enrolled tablets, as tokens."""
    app = make_app(instance, monkeypatch)
    tablets = []
    with app.app_context():
        upgrade()
        for s in range(SCHOOLS):
            school_id = accounts.create_school(f"Load School {s + 1}").id
            db.session.commit()
            for d in range(DEVICES // SCHOOLS):
                school = db.session.get_one(School, school_id)
                username = f"load{s + 1}x{d + 1}"
                accounts.create_user(school, Role.PEDAGOGUE, username, f"Teacher {username}", PASSWORD)
                db.session.commit()  # issue_token starts a write transaction of its own (rolling back first)
                issued = accounts.issue_token(username, PASSWORD, f"tablet {d + 1}", None)
                tablets.append(Tablet(token=issued.token, device_id=str(issued.device.uuid)))
            db.session.commit()
        db.engine.dispose()
    return tablets


@pytest.fixture
def server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gunicorn: Callable[..., Gunicorn]
) -> tuple[int, list[Tablet], Path]:
    monkeypatch.delenv("DATABASE_URL", raising=False)  # SQLite in the instance, its master.key beside it
    tablets = _enrol(tmp_path, monkeypatch)
    threaded = ["--worker-class", "gthread", "--threads", str(THREADS), "--keep-alive", str(KEEP_ALIVE)]
    started = gunicorn(tmp_path, threaded, workers=WORKERS)
    started.start()
    return started.port, tablets, tmp_path


def _transport(port: int, tablet: Tablet, state: dict[str, http.client.HTTPConnection]) -> Any:
    """A keep-alive connection of one tablet (kept in ``state``), timing every request; a broken one is
    reopened and counted."""

    def send(method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        start = time.perf_counter()
        for attempt in (1, 2):
            reused = "c" in state
            connection = state.get("c") or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            state["c"] = connection
            try:
                connection.request(method, path, body=data, headers={"Content-Type": "application/json", **headers})
                response = connection.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                state.pop("c", None)
                # The server closes a keep-alive connection idle past --keep-alive; a browser then sends the
                # request again on a new one, once (a push is safe to repeat: replays answer from receipts).
                # Counted apart; a failure on a fresh connection is an error.
                if (
                    reused
                    and attempt == 1
                    and isinstance(error, (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected))
                ):
                    tablet.reconnects += 1
                    continue
                tablet.errors.append(type(error).__name__)
                raise ConnectionError("the request failed") from error
        tablet.latencies.append((time.perf_counter() - start) * 1000)
        tablet.kinds.append(path.split("?")[0].rsplit("/", 1)[-1])
        if response.status != 200:
            tablet.errors.append(str(response.status))
        return response.status, json.loads(raw) if raw else None

    return send


def _run(port: int, tablet: Tablet, stop: float, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 (think times, not secrets)
    state: dict[str, http.client.HTTPConnection] = {}
    client = SyncClient(_transport(port, tablet, state), token=tablet.token, device_id=tablet.device_id)
    time.sleep(rng.uniform(0, THINK_SECONDS))  # tablets do not all wake at the same instant
    while time.monotonic() < stop:
        for _ in range(rng.randint(1, 3)):
            mutation = tablet.outbox.add("appeal.registered", str(uuid.uuid4()), registration())
            tablet.appeal_of[mutation["id"]] = mutation["appeal_id"]
        try:
            tablet.outbox.flush(client)
            _, tablet.cursor = client.pull_all(tablet.cursor)
        except (SyncError, ConnectionError):  # already counted by the transport; go on as a tablet would
            pass
        except Exception as error:  # anything else is a defect of the client or the answer: counted too
            tablet.errors.append(repr(error)[:200])
        # The user's think time: what shapes the load, not a wait for anything.
        time.sleep(max(0.0, min(rng.uniform(0, 2 * THINK_SECONDS), stop - time.monotonic())))
    if "c" in state:
        state["c"].close()


def test_200_devices_push_and_pull(server: tuple[int, list[Tablet], Path]) -> None:
    port, tablets, instance = server
    stop = time.monotonic() + SECONDS
    threads = [threading.Thread(target=_run, args=(port, t, stop, i), daemon=True) for i, t in enumerate(tablets)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a tablet hung"

    latencies = [ms for t in tablets for ms in t.latencies]
    by_kind: dict[str, list[float]] = {}
    for t in tablets:
        for kind, ms in zip(t.kinds, t.latencies, strict=True):
            by_kind.setdefault(kind, []).append(ms)
    acknowledged = {m: t for t in tablets for m in t.outbox.acknowledged}
    pending = sum(len(t.outbox.pending) for t in tablets)
    refused = sum(len(t.outbox.needs_attention) for t in tablets)
    errors = sum(len(t.errors) for t in tablets)
    kinds = dict(collections.Counter(e for t in tablets for e in t.errors))

    # Every acknowledged registration must be a row of the journal: look each appeal up on the server.
    registered = {t.appeal_of[mutation_id] for t in tablets for mutation_id in t.outbox.acknowledged}
    found = _appeals_on_server(instance / "ishenim.sqlite3")
    lost = len(registered - found)

    context = {"devices": DEVICES, "seconds": round(elapsed, 1), "think_s": THINK_SECONDS}
    ok = [
        figure("load.requests", len(latencies), "requests", None, **context),
        figure("load.requests_per_second", len(latencies) / elapsed, "req/s", None, better="higher", **context),
        figure(
            "load.errors",
            errors,
            "requests",
            0,
            pending=pending,
            refused=refused,
            kinds=kinds,
            reconnects=sum(t.reconnects for t in tablets),
            **context,
        ),
        figure("load.mutations_acknowledged", len(acknowledged), "mutations", None, better="higher", **context),
        figure("load.mutations_lost", lost, "mutations", 0, found_on_server=len(found), **context),
        figure("load.latency_p50_ms", median(latencies), "ms", None, **context),
        figure(
            "load.latency_p95_ms",
            percentile(latencies, 95),
            "ms",
            P95_BUDGET_MS,
            push_p95=round(percentile(by_kind.get("push", [0]), 95), 1),
            pull_p95=round(percentile(by_kind.get("pull", [0]), 95), 1),
            max=round(max(latencies), 1),
            **context,
        ),
    ]
    assert len(acknowledged) > 0 and refused == 0
    assert all(ok), "a load budget was missed (see the figures above)"


def _appeals_on_server(database: Path) -> set[str]:
    """Every appeal in the server's file, read beside the running server (WAL readers see every commit)."""
    with sqlite3.connect(database) as conn:
        return {str(uuid.UUID(row[0])) for row in conn.execute("SELECT uuid FROM appeals")}
