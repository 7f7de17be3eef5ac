"""Fault injection on sync: a real gunicorn, a flaky network in front of it, and ``kill -9`` mid-batch.

Three tablets of two schools keep their outboxes across randomized runs against one gunicorn (two
workers) on the test's instance; every five kills the installation is retired (the operator's ``verify``
run on it) and an empty one takes its place. Each run draws its scenario from a seeded RNG: mutations
queued (registrations of two school years, amendments, some stale), then pushes through
``tests.faults.FaultProxy`` with bursts of 503, requests cut before the server sees them, answers
dropped or cut in half after the server committed, a captive portal's page, the same batch sent twice at
once, old batches replayed after newer ones, batches sent out of order, and pulls (which write the audit
of reads). In a fifth of the runs a tablet pushes 200 registrations (while another tablet may push too)
and the whole gunicorn process group is killed with SIGKILL after a random delay; while it is down the
SQLite file must pass ``PRAGMA integrity_check``, ``verify`` must find every chain intact, and each batch
in flight must be in the database whole or not at all, whole when its answer arrived; then gunicorn
starts again on the same instance and port.

Every answer is checked as it arrives (a replay is answered as the first time; nothing is applied twice;
``last_seq`` never goes back), and at the end of each run every tablet flushes its outbox normally and the
database is compared with what the tablets were told: zero acknowledged mutations lost, zero recorded
twice, serial numbers 1..N without gaps per school and school year, nothing the outboxes did not make,
and the server never answered 5xx.

On PostgreSQL (``DATABASE_URL``) the same runs make the same checks except the SQLite pragma, which has
no PostgreSQL equivalent; there ``verify`` and the counts stand for it.

``ISHENIM_FAULT_RUNS`` sets the number of runs (100 here; ``make faults`` runs 1,000),
``ISHENIM_FAULT_KILLS`` how many of them kill, and ``ISHENIM_FAULT_SEED`` replays the scenarios (the
seed is printed, and named in every failure).
Timing makes a kill land at different points of a batch from one machine to the next; the checks hold
wherever it lands.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import resource
import shutil
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

from server.db import db
from server.models import Appeal, Device, Event, Receipt
from server.services.verify import first_break
from sync.client import Outbox, SyncClient, SyncError, urllib_transport
from sync.events import MAX_MUTATIONS_PER_PUSH
from tests.clock import school_today
from tests.conftest import POSTGRES_URL, empty_postgres
from tests.factory import PASSWORD, Factory, anonymous_registration, registration
from tests.faults import Fault, FaultProxy, Gunicorn
from tests.operator import run_flask

RUNS = int(os.environ.get("ISHENIM_FAULT_RUNS", "100"))
# At least 20 kills per CI run, about a fifth of the runs; ISHENIM_FAULT_KILLS overrides it.
KILLS = min(RUNS, int(os.environ.get("ISHENIM_FAULT_KILLS") or max(20, math.ceil(RUNS * 0.2))))
KILLS_PER_INSTALLATION = 5
SEED = int(os.environ.get("ISHENIM_FAULT_SEED") or random.SystemRandom().randrange(2**32))

REGISTERED = "appeal.registered"
AMENDED = "appeal.amended"
YEAR_BACK = dt.timedelta(days=400)  # before the school's today: always the previous school year, two serial counters
BIG = MAX_MUTATIONS_PER_PUSH  # the batch a kill interrupts: the most one push may carry
NETWORK_FAULTS = (Fault.UNAVAILABLE, Fault.DROP_REQUEST, Fault.DROP_RESPONSE, Fault.TRUNCATE_RESPONSE, Fault.PORTAL)
# Replays are answered from receipts: a mutation applied once is `duplicate` ever after.
FIRST_TO_REPLAY = {"applied": "duplicate", "duplicate": "duplicate", "rejected": "rejected", "conflict": "conflict"}


@dataclass
class School:
    id: int
    appeals: list[str] = field(default_factory=list)  # registrations acknowledged, for amendments to name
    versions: dict[str, int] = field(default_factory=dict)  # the latest version any tablet was told


@dataclass
class Tablet:
    name: str
    school: School
    client: SyncClient
    device_id: int = 0
    outbox: Outbox = field(default_factory=Outbox)
    made: dict[str, dict[str, Any]] = field(default_factory=dict)  # every mutation it ever queued
    first: dict[str, dict[str, Any]] = field(default_factory=dict)  # the first answer it received for each
    unanswered: set[str] = field(default_factory=set)  # sent at least once without an answer arriving
    committed: set[str] = field(default_factory=set)  # the server answered 200, the answer was lost
    sent: list[list[dict[str, Any]]] = field(default_factory=list)  # recent batches, for replays
    last_seq: int = 0  # the highest last_seq the server ever told it: must never go back
    cursor: int = 0


@dataclass
class Figures:
    runs: int = 0
    installations: int = 0
    kills: int = 0
    processes_killed: int = 0
    integrity_checks_ok: int = 0
    verify_ok: int = 0
    requests: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    kill_outcomes: Counter[str] = field(default_factory=Counter)
    injected: dict[str, int] = field(default_factory=dict)  # what the proxy did, request by request
    acknowledged: int = 0
    needs_attention: int = 0
    lost: int = 0
    duplicated: int = 0
    serial_gaps: int = 0
    test_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    sqlite: bool = True

    def line(self) -> str:
        return (
            f"fault runs: {self.runs} (seed {SEED}, {self.installations} installations), kills survived: {self.kills} "
            f"({self.processes_killed} processes), integrity checks ok: {self.integrity_checks_ok}"
            f"{'' if self.sqlite else ' (PostgreSQL: verify and the counts instead)'}, "
            f"verify ok: {self.verify_ok}, requests: {self.requests}, mutations acknowledged: {self.acknowledged}, "
            f"needs attention: {self.needs_attention}, lost: {self.lost}, duplicated: {self.duplicated}, "
            f"serial gaps: {self.serial_gaps}; kills landed: {dict(self.kill_outcomes)}; "
            f"faults: {dict(self.faults)}; injected by the proxy: {self.injected}; answers: {dict(self.answers)}; "
            f"CPU seconds: test "
            f"{self.test_cpu_seconds:.0f}, gunicorn {self.server_cpu_seconds:.0f}"
        )


class Scenario:
    """The tablets, the server and the proxy, with every check made on an answer as it arrives."""

    def __init__(self, app: Flask, instance: Path, template: Path | None, server: Gunicorn, proxy: FaultProxy) -> None:
        self.app = app
        self.instance = instance
        self.template = template  # the migrated SQLite file a new installation starts from (None: PostgreSQL)
        self.server = server
        self.proxy = proxy
        self.tablets: list[Tablet] = []
        self.figures = Figures(sqlite=template is not None)
        self.push_seconds = 1.0  # how long a push of BIG takes here: measured first, then from the kills' pushes
        self.where = ""  # "seed S run R": named in every failure

    # --- installations ----------------------------------------------------------------------------------

    def install(self) -> None:
        """Two schools (two tablets in one, one in the other) on the running gunicorn, the tablets logged in.

        The test's app makes the accounts in-process (with the test's cheap Argon2 parameters, which the
        stored hashes carry, so gunicorn's logins are fast too); the tablets log in through the proxy.
        """
        factory = Factory(self.app, self.app.test_client())
        first, second = factory.school("School No. 1"), factory.school("School No. 2")
        users = [(factory.user(first), first), (factory.user(first), first), (factory.user(second), second)]
        with self.app.app_context():
            db.engine.dispose()  # gunicorn owns the database; the test only reads it between steps
        if not self.server.running:
            self.server.start()
        schools = {first.id: School(first.id), second.id: School(second.id)}
        self.tablets = []
        for n, (username, school) in enumerate(users):
            client = SyncClient(urllib_transport(self.proxy.url))
            client.login(username, PASSWORD, device_name=f"Tablet {n}")
            self.tablets.append(Tablet(name=f"tablet {n}", school=schools[school.id], client=client))
        with self.app.app_context():
            for tablet in self.tablets:
                device = uuid.UUID(tablet.client.device_id or "")
                tablet.device_id = db.session.scalars(select(Device.id).where(Device.uuid == device)).one()
            db.session.remove()
            db.engine.dispose()
        if not self.figures.installations:  # a clean push of a full batch times the kills to come
            start = time.perf_counter()
            self.queue(random.Random(self.where), self.tablets[0], BIG)
            self.flush(self.tablets[0], BIG)
            self.push_seconds = time.perf_counter() - start
        self.figures.installations += 1

    def reinstall(self) -> None:
        """Retire this installation (the operator's ``verify`` on it, server down) and start an empty one.

        ``verify`` reads every letter, so its cost grows with the journal; a new installation every few
        kills keeps a check after every kill cheap, however many runs there are.
        """
        self.figures.acknowledged += sum(len(t.outbox.acknowledged) for t in self.tablets)
        self.figures.needs_attention += sum(len(t.outbox.needs_attention) for t in self.tablets)
        self.server.stop()
        verified = run_flask(self.instance, "verify")
        assert verified.returncode == 0, f"{self.where}: {verified.stdout}{verified.stderr}"
        self.figures.verify_ok += 1
        if self.template is None:
            empty_postgres()
        else:
            for suffix in ("", "-wal", "-shm"):
                (self.instance / f"ishenim.sqlite3{suffix}").unlink(missing_ok=True)
            shutil.copy(self.template, self.instance / "ishenim.sqlite3")
        self.install()

    # --- one request and the checks on its answer -----------------------------------------------------

    def push(self, tablet: Tablet, batch: list[dict[str, Any]]) -> dict[str, Any] | None:
        """One push as the tablet sends it; the checked answer, or None when none came (or a seq gap)."""
        tablet.sent = [*tablet.sent[-19:], batch]
        self.figures.requests += 1
        try:
            answer = tablet.client.push(batch)
        except SyncError as error:
            self.figures.answers[str(error.status)] += 1
            if error.status == 409 and error.code == "seq_gap":
                self.check_gap(tablet, batch, error.body)
                return None
            # Only the proxy answers 502 (server down) or 503 (shedding), with its own HTML page.
            assert error.status in (502, 503) and error.body is None, f"{self.where}: {error.status} {error.body}"
            self.no_answer(tablet, batch)
            return None
        except OSError:
            self.figures.answers["no answer"] += 1
            self.no_answer(tablet, batch)
            return None
        self.figures.answers["200"] += 1
        self.check(tablet, batch, answer)
        return answer

    def no_answer(self, tablet: Tablet, batch: list[dict[str, Any]]) -> None:
        tablet.unanswered |= {m["id"] for m in batch}

    def check_gap(self, tablet: Tablet, batch: list[dict[str, Any]], body: dict[str, Any]) -> None:
        last_seq = body["last_seq"]
        assert last_seq >= tablet.last_seq, f"{self.where}: the server forgot seqs ({last_seq} < {tablet.last_seq})"
        new = [m["seq"] for m in batch if m["seq"] > last_seq]
        assert new and new[0] != last_seq + 1, f"{self.where}: a deliverable batch was refused as a gap"
        tablet.last_seq = last_seq

    def check(self, tablet: Tablet, batch: list[dict[str, Any]], answer: dict[str, Any]) -> None:
        where = self.where
        assert answer["last_seq"] >= max([tablet.last_seq] + [m["seq"] for m in batch]), where
        assert [(r["seq"], r["id"]) for r in answer["results"]] == [(m["seq"], m["id"]) for m in batch], where
        pending = {m["id"]: m for m in tablet.outbox.pending}
        for mutation, result in zip(batch, answer["results"], strict=True):
            mid, status = mutation["id"], result["status"]
            assert status in FIRST_TO_REPLAY, (where, result)
            assert result["error"] not in ("seq_reused", "id_conflict"), (where, result)
            known = tablet.first.get(mid)
            if known is not None:
                # A replay is answered from its receipt, as the first time: never applied again.
                assert (status, result["error"]) == (FIRST_TO_REPLAY[known["status"]], known["error"]), (where, known)
                assert result["serial_no"] == known["serial_no"], (where, known, result)
            elif status == "duplicate":
                assert mid in tablet.unanswered, f"{where}: duplicate of a mutation never delivered"
            if status == "applied":
                assert mid not in tablet.committed, f"{where}: a committed mutation was applied again"
                if mutation["type"] == REGISTERED:
                    assert result["serial_no"] is not None and result["version"] == 1, (where, result)
            tablet.first.setdefault(mid, result)
            self.learn(tablet.school, mutation, result)
            if mid in pending:
                tablet.outbox._settle(pending.pop(mid), result)
        tablet.last_seq = answer["last_seq"]

    def learn(self, school: School, mutation: dict[str, Any], result: dict[str, Any]) -> None:
        appeal = mutation["appeal_id"]
        acknowledged = result["status"] in ("applied", "duplicate")
        if mutation["type"] == REGISTERED and acknowledged and appeal not in school.versions:
            school.appeals.append(appeal)
        if result["version"] is not None and result["status"] != "rejected":
            school.versions[appeal] = max(school.versions.get(appeal, 1), result["version"])

    def push_through(self, tablet: Tablet, batch: list[dict[str, Any]], tries: int = 12) -> dict[str, Any] | None:
        """Retry while no answer comes (a tablet's backoff, without the waiting); None on a seq gap."""
        for _ in range(tries):
            before = self.figures.answers["409"]
            answer = self.push(tablet, batch)
            if answer is not None or self.figures.answers["409"] > before:
                return answer
        raise AssertionError(f"{self.where}: no answer after {tries} tries")

    def flush(self, tablet: Tablet, batch_size: int) -> None:
        """The outbox's own loop: the pending prefix, in order, is always deliverable."""
        while tablet.outbox.pending:
            answer = self.push_through(tablet, tablet.outbox.pending[:batch_size])
            assert answer is not None, f"{self.where}: the outbox's own order was refused"

    # --- what a run does --------------------------------------------------------------------------------

    def queue(self, rng: random.Random, tablet: Tablet, count: int) -> list[dict[str, Any]]:
        """Registrations (this school year and the last, some anonymous) and amendments, some stale."""
        school, queued = tablet.school, []
        for _ in range(count):
            if school.appeals and rng.random() < 0.25:
                appeal = rng.choice(school.appeals)
                base = school.versions[appeal] - (1 if rng.random() < 0.2 else 0)
                data = {"changes": {"summary": f"Уточнение {rng.randrange(10**6)}"}, "reason": "Уточнено."}
                mutation = tablet.outbox.add(AMENDED, appeal, data, base_version=base)
            else:
                received = (school_today() - (YEAR_BACK if rng.random() < 0.3 else dt.timedelta())).isoformat()
                make = anonymous_registration if rng.random() < 0.3 else registration
                mutation = tablet.outbox.add(REGISTERED, str(uuid.uuid4()), make(received_on=received))
            tablet.made[mutation["id"]] = mutation
            queued.append(mutation)
        return queued

    def flaky_flush(self, rng: random.Random, tablet: Tablet) -> None:
        """The outbox flushes while the network misbehaves for a few requests."""
        faults = [rng.choice(NETWORK_FAULTS) for _ in range(rng.randint(0, 4))]
        self.proxy.plan(*faults)
        self.flush(tablet, rng.randint(1, 10))
        self.proxy.clear()

    def burst_of_503(self, rng: random.Random, tablet: Tablet) -> None:
        if not tablet.outbox.pending:
            return
        burst = rng.randint(1, 6)
        self.proxy.plan(*[Fault.UNAVAILABLE] * burst)
        self.figures.faults["503 burst"] += 1
        before = self.figures.answers["503"]
        assert self.push_through(tablet, tablet.outbox.pending[: rng.randint(1, 10)]) is not None, self.where
        assert self.figures.answers["503"] - before == burst, self.where

    def commit_then_drop(self, rng: random.Random, tablet: Tablet) -> None:
        """The server commits and answers; the answer is lost (cut at once or halfway). Then a retry."""
        if not tablet.outbox.pending:
            return
        fault = rng.choice([Fault.DROP_RESPONSE, Fault.TRUNCATE_RESPONSE])
        batch = tablet.outbox.pending[: rng.randint(1, 10)]
        self.proxy.plan(fault)
        before = self.proxy.upstream[200]
        assert self.push(tablet, batch) is None, f"{self.where}: the answer arrived through {fault}"
        assert self.proxy.upstream[200] == before + 1, f"{self.where}: the server did not answer 200"
        tablet.committed |= {m["id"] for m in batch}
        if rng.random() < 0.5:  # the same batch again at once: every result a replay
            answer = self.push_through(tablet, batch)
            assert answer is not None and all(r["status"] != "applied" for r in answer["results"]), self.where

    def drop_request(self, rng: random.Random, tablet: Tablet) -> None:
        if not tablet.outbox.pending:
            return
        self.proxy.plan(Fault.DROP_REQUEST)
        before = sum(self.proxy.upstream.values())
        assert self.push(tablet, tablet.outbox.pending[: rng.randint(1, 10)]) is None, self.where
        assert sum(self.proxy.upstream.values()) == before, f"{self.where}: a dropped request reached the server"

    def replay_old(self, rng: random.Random, tablet: Tablet) -> None:
        """An older batch arrives after newer ones (a retry from a queue that was not cleared)."""
        if tablet.sent:
            self.figures.faults["old batch replayed"] += 1
            self.push_through(tablet, rng.choice(tablet.sent))

    def reorder(self, rng: random.Random, tablet: Tablet) -> None:
        """A later part of the outbox is sent before the earlier one: a gap is refused, changing nothing."""
        pending = tablet.outbox.pending
        if len(pending) < 2:
            return
        split = rng.randint(1, len(pending) - 1)
        self.figures.faults["reordered"] += 1
        self.push_through(tablet, pending[split : split + rng.randint(1, 10)])
        if tablet.outbox.pending:
            # The earlier part as the outbox would send it: at most a push's worth (a killed 200 may be pending).
            self.push_through(tablet, tablet.outbox.pending[: min(split, MAX_MUTATIONS_PER_PUSH)])

    def twice_at_once(self, rng: random.Random, tablet: Tablet) -> None:
        """The same batch sent twice at the same moment (a double tap, a retry racing the original)."""
        if not tablet.outbox.pending:
            return
        batch = tablet.outbox.pending[: rng.randint(1, 10)]
        self.figures.faults["same batch twice at once"] += 1
        outcomes: list[Any] = [None, None]

        def send(i: int) -> None:
            try:
                outcomes[i] = tablet.client.push(batch)
            except (SyncError, OSError) as error:
                outcomes[i] = error

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(isinstance(o, dict) for o in outcomes), f"{self.where}: {outcomes}"
        # The one that ran first applied; the other must be all replays. Check them in that order.
        outcomes.sort(key=lambda o: -sum(r["status"] == "applied" for r in o["results"]))
        self.figures.requests += 2
        self.figures.answers["200"] += 2
        for answer in outcomes:
            self.check(tablet, batch, answer)

    def pull(self, rng: random.Random, tablet: Tablet) -> None:
        """A pull through a flaky network: it writes the audit of reads, which must stay chained too."""
        fault = rng.choice([Fault.PASS, Fault.PASS, *NETWORK_FAULTS])
        self.proxy.plan(fault)
        self.figures.requests += 1
        try:
            page = tablet.client.pull(tablet.cursor, limit=20)
        except (SyncError, OSError) as error:
            assert fault is not Fault.PASS, f"{self.where}: {error}"
            self.figures.answers["no answer"] += 1
            return
        assert fault in (Fault.PASS,), self.where
        self.figures.answers["200"] += 1
        made = {m["appeal_id"] for t in self.tablets if t.school is tablet.school for m in t.made.values()}
        assert {c["id"] for c in page["changes"] if c["entity"] == "appeal"} <= made, self.where
        tablet.cursor = page["cursor"]

    ACTIONS: tuple[tuple[Callable[[Scenario, random.Random, Tablet], None], int], ...] = (
        (flaky_flush, 4),
        (burst_of_503, 2),
        (commit_then_drop, 3),
        (drop_request, 1),
        (replay_old, 2),
        (reorder, 2),
        (twice_at_once, 2),
        (pull, 1),
    )

    def step(self, rng: random.Random) -> None:
        tablet = rng.choice(self.tablets)
        if rng.random() < 0.8:
            self.queue(rng, tablet, rng.randint(1, 8))
        actions, weights = zip(*self.ACTIONS, strict=True)
        rng.choices(actions, weights)[0](self, rng, tablet)

    # --- kill -9 in the middle of a batch -------------------------------------------------------------------

    def kill_mid_batch(self, rng: random.Random) -> None:
        """200 registrations in flight (and maybe another tablet's push), then SIGKILL to every process."""
        big = rng.choice(self.tablets)
        self.queue(rng, big, BIG)
        pushes = [(big, big.outbox.pending[:BIG])]
        other = rng.choice([t for t in self.tablets if t is not big])
        if rng.random() < 0.5:
            self.queue(rng, other, rng.randint(1, 10))
            pushes.append((other, other.outbox.pending[:10]))
        # What no earlier request carried: it reaches the database in one transaction or not at all.
        fresh = {
            t.name: [m for m in batch if m["id"] not in t.unanswered and m["id"] not in t.first] for t, batch in pushes
        }
        answers: dict[str, Any] = {}

        def send(tablet: Tablet, batch: list[dict[str, Any]]) -> None:
            started = time.perf_counter()
            try:
                answers[tablet.name] = tablet.client.push(batch)
            except (SyncError, OSError) as error:
                answers[tablet.name] = error
            if len(batch) == BIG and isinstance(answers[tablet.name], dict):  # keep the delay within a push
                self.push_seconds = 0.5 * self.push_seconds + 0.5 * (time.perf_counter() - started)

        threads = [threading.Thread(target=send, args=push) for push in pushes]
        # A third of the kills come just after the server committed the big batch and answered, while the
        # answer is still on its way (held by the proxy); the others at a random moment of the push.
        hold = rng.random() < 1 / 3
        if hold:
            self.figures.faults["kill after the commit"] += 1
            self.proxy.held.clear()
            self.proxy.release.clear()
            self.proxy.plan(Fault.HOLD_RESPONSE)
        threads[0].start()
        if hold:
            assert self.proxy.held.wait(timeout=120), f"{self.where}: the held push was never answered"
        for thread in threads[1:]:
            thread.start()
        if not hold:
            time.sleep(rng.uniform(0.0, 1.1) * self.push_seconds)
        self.figures.processes_killed += self.server.kill9()
        self.figures.kills += 1
        self.proxy.release.set()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{self.where}: a push hung after the kill"
        self.while_down({t.name: (t, batch) for t, batch in pushes}, fresh, answers, held=big.name if hold else None)
        self.server.start()
        for tablet, batch in pushes:
            self.figures.requests += 1
            answer = answers[tablet.name]
            if isinstance(answer, dict):
                self.figures.answers["200"] += 1
                self.check(tablet, batch, answer)
            else:
                # A 502 from the proxy or a reset; a seq gap cannot happen here: these are outbox prefixes.
                assert isinstance(answer, OSError) or answer.status == 502, f"{self.where}: {answer}"
                self.figures.answers["no answer"] += 1
                self.no_answer(tablet, batch)

    def while_down(
        self,
        pushes: dict[str, tuple[Tablet, list[dict[str, Any]]]],
        fresh: dict[str, list[dict[str, Any]]],
        answers: dict[str, Any],
        held: str | None,
    ) -> None:
        """With every server process dead: the file is sound, the chains hold, each batch is all or nothing."""
        assert not self.server.running
        with self.app.app_context():
            try:
                if db.engine.dialect.name == "sqlite":
                    self.figures.integrity_checks_ok += integrity_check(self.instance / "ishenim.sqlite3", self.where)
                else:
                    backends_gone(self.where)
                broken = first_break()
                assert broken is None, f"{self.where}: verify after kill: {broken}"
                self.figures.verify_ok += 1
                for name, queued in fresh.items():
                    tablet, batch = pushes[name]
                    if not queued:
                        continue
                    ids = [uuid.UUID(m["id"]) for m in queued]
                    # Every delivered mutation has a receipt, an applied one an event too (a refused one none).
                    stored = db.session.scalar(select(func.count()).where(Receipt.mutation_id.in_(ids)))
                    last_seq = db.session.scalar(select(Device.last_seq).where(Device.id == tablet.device_id))
                    assert stored in (0, len(ids)), f"{self.where}: {stored} of a batch of {len(ids)} survived"
                    assert last_seq is not None and (last_seq >= queued[-1]["seq"]) == (stored > 0), self.where
                    answered = isinstance(answers.get(name), dict)
                    assert stored or not answered, f"{self.where}: an acknowledged batch was lost in the kill"
                    assert stored or name != held, f"{self.where}: a committed batch was lost in the kill"
                    if len(batch) == BIG:
                        self.figures.kill_outcomes[
                            "after the answer" if answered else "committed, answer lost" if stored else "rolled back"
                        ] += 1
            finally:
                db.session.remove()
                db.engine.dispose()

    # --- the end of a run -------------------------------------------------------------------------------

    def settle_all(self, rng: random.Random) -> None:
        """Every tablet flushes its outbox normally; then the database must hold exactly what they were told."""
        self.proxy.clear()
        for tablet in self.tablets:
            self.flush(tablet, rng.choice([3, 20, BIG]))
        with self.app.app_context():
            try:
                for tablet in self.tablets:
                    self.check_device(tablet)
                for school in {id(t.school): t.school for t in self.tablets}.values():
                    self.check_school(school)
            finally:
                db.session.remove()
                db.engine.dispose()

    def check_device(self, tablet: Tablet) -> None:
        outbox, where = tablet.outbox, self.where
        assert not outbox.pending, where
        attention = {m["id"] for m, _ in outbox.needs_attention}
        # Nothing a tablet made is dropped: it is acknowledged or set aside for the pedagogue to see.
        assert set(outbox.acknowledged) | attention == set(tablet.made), where
        assert not set(outbox.acknowledged) & attention, where
        device = db.session.get_one(Device, tablet.device_id)
        assert device.last_seq == outbox.next_seq - 1 == tablet.last_seq, where
        receipts = dict(
            db.session.execute(select(Receipt.seq, Receipt.mutation_id).where(Receipt.device_id == device.id)).all()
        )
        by_seq = {m["seq"]: uuid.UUID(m["id"]) for m in tablet.made.values()}
        assert receipts == by_seq, f"{where}: the receipts are not the mutations the tablet numbered"

    def check_school(self, school: School) -> None:
        where = self.where
        tablets = [t for t in self.tablets if t.school is school]
        acknowledged = {i: r for t in tablets for i, r in t.outbox.acknowledged.items()}
        attention = {m["id"] for t in tablets for m, _ in t.outbox.needs_attention}
        made = {i: m for t in tablets for i, m in t.made.items()}
        events = [str(u) for u in db.session.scalars(select(Event.uuid).where(Event.school_id == school.id))]
        lost = set(acknowledged) - set(events)
        duplicated = len(events) - len(set(events))
        self.figures.lost += len(lost)
        self.figures.duplicated += duplicated
        assert not lost, f"{where}: {len(lost)} acknowledged mutations are not on the server"
        assert not duplicated, f"{where}: {duplicated} mutations recorded twice"
        assert set(events) <= set(made), f"{where}: the server holds events no outbox made"
        assert not set(events) & attention, f"{where}: a mutation set aside was recorded"

        rows = db.session.execute(
            select(Appeal.uuid, Appeal.school_year, Appeal.serial_no, Appeal.version).where(
                Appeal.school_id == school.id
            )
        ).all()
        registered = {m["appeal_id"]: i for i, m in made.items() if i in acknowledged and m["type"] == REGISTERED}
        assert {str(r.uuid) for r in rows} == set(registered), f"{where}: appeals differ from the registrations"
        per_year: dict[int, list[int]] = {}
        for row in rows:
            per_year.setdefault(row.school_year, []).append(row.serial_no)
            # The serial number the tablet was told is the one in the journal.
            assert acknowledged[registered[str(row.uuid)]]["serial_no"] == row.serial_no, where
        for year, serials in per_year.items():
            gaps = set(range(1, len(serials) + 1)) ^ set(serials)
            self.figures.serial_gaps += len(gaps) + len(serials) - len(set(serials))
            assert sorted(serials) == list(range(1, len(serials) + 1)), f"{where}: serials of {year} not 1..N"
        # An appeal's version counts its accepted events: no event was applied twice or half.
        counts = dict(
            db.session.execute(
                select(Event.appeal_id, func.count()).where(Event.school_id == school.id).group_by(Event.appeal_id)
            ).all()
        )
        versions = dict(
            db.session.execute(select(Appeal.id, Appeal.version).where(Appeal.school_id == school.id)).all()
        )
        assert versions == counts, f"{where}: versions do not count the appeals' events"


def backends_gone(where: str) -> None:
    """Wait until PostgreSQL has ended the dead workers' sessions.

    A backend notices its client is gone only when it next talks to it, and one that had just received a
    COMMIT still finishes it: until then the checks below could read between its commit and its end.
    """
    others = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 30
    while db.session.scalar(others):
        assert time.monotonic() < deadline, f"{where}: the killed server's sessions never ended"
        db.session.rollback()  # a fresh snapshot of pg_stat_activity
        time.sleep(0.05)
    db.session.rollback()


def integrity_check(path: Path, where: str) -> int:
    """``PRAGMA integrity_check`` on the file the killed server left, opened read-only."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
    finally:
        connection.close()
    return 1


@pytest.fixture
def scenario(app: Flask, instance: Path, migrated: Path, gunicorn: Callable[..., Gunicorn]) -> Iterator[Scenario]:
    """A real gunicorn on the test's instance behind the fault proxy; installed by the test."""
    server = gunicorn(instance)
    proxy = FaultProxy(server.port)
    try:
        yield Scenario(app, instance, None if POSTGRES_URL else migrated, server, proxy)
    finally:
        proxy.stop()


def test_randomized_faults_lose_and_duplicate_nothing(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    """RUNS random scenarios of network faults, KILLS of them with kill -9 of gunicorn mid-batch."""
    kill_runs = set(random.Random(SEED).sample(range(RUNS), KILLS))
    scenario.where = f"seed {SEED} installation"
    scenario.install()
    kills_here = 0

    for run in range(RUNS):
        rng = random.Random(f"{SEED}:{run}")
        scenario.where = f"seed {SEED} run {run}"
        if scenario.figures.kills - kills_here >= KILLS_PER_INSTALLATION:
            scenario.reinstall()
            kills_here = scenario.figures.kills
        steps = rng.randint(2, 8)
        kill_at = rng.randrange(steps) if run in kill_runs else None
        for step in range(steps):
            if step == kill_at:
                scenario.kill_mid_batch(rng)
            scenario.step(rng)
        scenario.settle_all(rng)
        scenario.figures.runs += 1

    figures = scenario.figures
    scenario.where = f"seed {SEED} end"
    verified = run_flask(scenario.instance, "verify")  # with the server up, as an operator checks it
    assert verified.returncode == 0, verified.stdout + verified.stderr
    figures.verify_ok += 1
    figures.acknowledged += sum(len(t.outbox.acknowledged) for t in scenario.tablets)
    figures.needs_attention += sum(len(t.outbox.needs_attention) for t in scenario.tablets)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures.test_cpu_seconds = usage.ru_utime + usage.ru_stime
    scenario.server.stop()  # counts the last server's CPU
    figures.server_cpu_seconds = scenario.server.cpu_seconds
    figures.injected = {f.value: n for f, n in scenario.proxy.applied.items() if f is not Fault.PASS}
    with capsys.disabled():
        print(f"\n{figures.line()}")

    assert (figures.runs, figures.kills) == (RUNS, KILLS)
    assert figures.integrity_checks_ok == (KILLS if figures.sqlite else 0)
    assert (figures.lost, figures.duplicated, figures.serial_gaps) == (0, 0, 0)
    # The server itself never failed: every answer it gave was a success or the seq gap a reorder asked for.
    assert set(scenario.proxy.upstream) <= {200, 201, 409}, scenario.proxy.upstream
    # The kills did land in flight, not only between requests: some batches were cut before their commit,
    # and every batch killed after its commit (its answer held back) was found whole.
    assert figures.kill_outcomes["rolled back"] > 0 or KILLS < 5
    assert figures.kill_outcomes["committed, answer lost"] >= figures.faults["kill after the commit"]


def test_the_client_takes_a_broken_answer_for_a_network_failure(app: Flask, factory: Factory) -> None:
    """Regression: ``urllib_transport`` let a proxy's HTML 503 out as a JSONDecodeError and an answer cut
    short as http.client.IncompleteRead, neither an OSError, so a caller retrying on network failures
    crashed instead. Now, as in ``pwa/js/api.js``: a foreign error page is its status with no body, and a
    success that cannot be read is a ConnectionError (the push may have been applied; a replay tells).
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy = FaultProxy(server.server_port)
    try:
        device = factory.device()
        client = SyncClient(urllib_transport(proxy.url), token=device.token, device_id=device.device_id)
        outbox = Outbox()
        outbox.add(REGISTERED, str(uuid.uuid4()), registration())

        proxy.plan(Fault.UNAVAILABLE)
        with pytest.raises(SyncError) as shed:
            outbox.flush(client)
        assert (shed.value.status, shed.value.body, shed.value.code) == (503, None, None)

        proxy.plan(Fault.TRUNCATE_RESPONSE)  # the server applies it; half the answer arrives
        with pytest.raises(ConnectionError):
            outbox.flush(client)
        proxy.plan(Fault.PORTAL)
        with pytest.raises(ConnectionError):
            outbox.flush(client)
        assert len(outbox.pending) == 1  # nothing settled on an answer that was not the server's

        outbox.flush(client)
        [result] = outbox.acknowledged.values()
        assert (result["status"], result["serial_no"]) == ("duplicate", 1)  # applied once, by the cut request
        assert proxy.upstream == Counter({200: 2})
    finally:
        proxy.stop()
        server.shutdown()
        server.server_close()
        thread.join()
