"""Property: whatever the network does, the server holds exactly what it acknowledged, once, numbered 1..N.

Two devices of one school queue registrations and amendments in their outboxes and push them in random
ways: prefixes and slices of what they have, mutations already acknowledged, batches out of order,
answers lost after the server committed, and plain retries. A model of each device's ``last_seq``
predicts every answer. At the end each device flushes properly and the journal is checked against what
the devices were told.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.db import db
from server.models import Appeal, Device, Event, School
from server.services.verify import first_break
from sync.client import Outbox, SyncClient, SyncError, Transport
from sync.events import Role
from tests.clock import school_today
from tests.factory import registration

REGISTERED = "appeal.registered"
AMENDED = "appeal.amended"
# 400 days before the school's today is always in the previous school year: two years' serial counters are exercised.
YEAR_BACK = dt.timedelta(days=400)


class LostResponse:
    """A transport whose request reaches the server and commits, but whose answer never comes back."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __call__(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        self.transport(method, path, body, headers)
        raise ConnectionError("connection reset after the request was sent")


@dataclass
class Tablet:
    """One enrolled device: its outbox, every mutation it ever made, and what the model expects."""

    client: SyncClient
    lossy: SyncClient
    outbox: Outbox = field(default_factory=Outbox)
    made: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0  # the server's last_seq for this device, as the model predicts it
    # The first answer the device actually received for each mutation (absent when it was lost).
    first: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class World:
    factory: Any
    school: School
    tablets: list[Tablet]
    appeals: list[str] = field(default_factory=list)  # appeal ids registered (queued) by either device
    versions: dict[str, int] = field(default_factory=dict)  # latest version any device was told

    def counters(self) -> tuple[Any, ...]:
        """What a refused request must leave as it was: the chain, change numbers, devices' seqs."""
        with self.factory.app.app_context():
            school = db.session.get(School, self.school.id)
            assert school is not None
            seqs = db.session.scalars(
                select(Device.last_seq).where(Device.school_id == self.school.id).order_by(Device.id)
            )
            return school.chain_head, school.chain_length, school.last_change_no, tuple(seqs)


# --- actions ------------------------------------------------------------------------------------------

TABLET = st.integers(0, 1)
REGISTER = st.tuples(st.just("register"), TABLET, st.booleans())  # True: received in the previous school year
AMEND = st.tuples(st.just("amend"), TABLET, st.integers(0, 15), st.booleans())  # which appeal, stale base
# A slice starting near the server's last_seq: before it re-sends delivered mutations, after it leaves a
# gap. Small ranges cover every case and shrink fast.
PUSH = st.tuples(
    st.just("push"), TABLET, st.integers(-3, 2), st.integers(0, 5), st.sampled_from(["in_order", "reversed", "swapped"])
)
LOSE = st.tuples(st.just("lose"), TABLET, st.integers(1, 5))  # how many pending mutations the lost push carried
FLUSH = st.tuples(st.just("flush"), TABLET)
# Repetition weights the draw: pushes are where ordering goes wrong, registrations give them something to send.
ACTIONS = st.sampled_from([REGISTER, REGISTER, REGISTER, AMEND, PUSH, PUSH, PUSH, LOSE, FLUSH]).flatmap(
    lambda kind: kind
)


def do_register(world: World, tablet: Tablet, last_year: bool) -> None:
    received = school_today() - (YEAR_BACK if last_year else dt.timedelta())
    appeal_id = str(uuid.uuid4())
    tablet.made.append(dict(tablet.outbox.add(REGISTERED, appeal_id, registration(received_on=received.isoformat()))))
    world.appeals.append(appeal_id)


def do_amend(world: World, tablet: Tablet, which: int, stale: bool) -> None:
    # Without a known appeal the amendment names none: the server must refuse it (appeal_not_found).
    appeal_id = world.appeals[which % len(world.appeals)] if world.appeals else str(uuid.uuid4())
    base = world.versions.get(appeal_id, 1) - (1 if stale else 0)
    data = {"changes": {"summary": f"Уточнение {uuid.uuid4().hex[:8]}"}, "reason": "Уточнено на заседании."}
    tablet.made.append(dict(tablet.outbox.add(AMENDED, appeal_id, data, base_version=base)))


def expected_replay(first: dict[str, Any]) -> tuple[str, str | None]:
    """A mutation delivered before is answered as the first time; one that was applied, as `duplicate`."""
    if first["status"] in ("applied", "duplicate"):
        return "duplicate", None
    return first["status"], first["error"]


def settle(world: World, tablet: Tablet, batch: list[dict[str, Any]], answer: dict[str, Any]) -> None:
    """Check a 200 answer against the model, then let the outbox take it as the device would."""
    previous = tablet.last_seq
    assert answer["last_seq"] == max([previous] + [m["seq"] for m in batch])
    assert [(r["seq"], r["id"]) for r in answer["results"]] == [(m["seq"], m["id"]) for m in batch]
    pending = {m["id"]: m for m in tablet.outbox.pending}
    for m, result in zip(batch, answer["results"], strict=True):
        if m["seq"] <= previous:
            known = tablet.first.get(m["id"])
            event(f"replayed: {known['status'] if known else 'answer lost'} -> {result['status']}")
            if known is not None:
                assert (result["status"], result["error"]) == expected_replay(known), (m["type"], known, result)
                if known["status"] == "applied":
                    assert result["serial_no"] == known["serial_no"]
        else:
            assert result["status"] in ("applied", "rejected", "conflict"), result
            event(f"{m['type']}: {result['status']}")
        if result["status"] == "applied" and m["type"] == REGISTERED:
            assert result["serial_no"] is not None and result["version"] == 1
        tablet.first.setdefault(m["id"], result)
        if result["version"] is not None and result["status"] in ("applied", "conflict"):
            world.versions[m["appeal_id"]] = max(world.versions.get(m["appeal_id"], 1), result["version"])
        if m["id"] in pending:
            tablet.outbox._settle(pending.pop(m["id"]), result)
    tablet.last_seq = answer["last_seq"]


def do_push(world: World, tablet: Tablet, offset: int, length: int, order: str) -> None:
    """Push a slice of what the device ever made, acknowledged or not, possibly out of order."""
    made = sorted(tablet.made, key=lambda m: m["seq"])
    # made[i] has seq i + 1, so made[last_seq] is the next mutation the server expects.
    start = min(max(tablet.last_seq + offset, 0), len(made))
    batch = made[start : start + length]
    if order == "reversed":
        batch.reverse()
    elif order == "swapped" and len(batch) > 2:
        batch[1], batch[2] = batch[2], batch[1]

    seqs = [m["seq"] for m in batch]
    increasing = all(a < b for a, b in itertools.pairwise(seqs))
    new = [s for s in seqs if s > tablet.last_seq]
    contiguous = new == list(range(tablet.last_seq + 1, tablet.last_seq + 1 + len(new)))
    before = world.counters()
    try:
        answer = tablet.client.push(batch)
    except SyncError as error:
        event(f"push refused: {error.status}")
        if not increasing:
            assert (error.status, error.code) == (422, "validation_error"), error.body
        else:
            assert not contiguous, error.body
            assert (error.status, error.code, error.body["last_seq"]) == (409, "seq_gap", tablet.last_seq)
        assert world.counters() == before  # nothing applied
        return
    assert increasing and contiguous, (seqs, tablet.last_seq)
    settle(world, tablet, batch, answer)


def do_lose(tablet: Tablet, count: int) -> None:
    """Deliver a prefix of the outbox, and lose the answer after the server committed it."""
    if not tablet.outbox.pending:
        return
    batch = tablet.outbox.pending[:count]
    with pytest.raises(ConnectionError):
        tablet.outbox.flush(tablet.lossy, batch_size=count)
    event("answer lost")
    # The outbox's pending prefix is always deliverable: replays, then the seqs after last_seq.
    tablet.last_seq = max(tablet.last_seq, batch[-1]["seq"])


def do_flush(world: World, tablet: Tablet) -> None:
    """A plain retry: the outbox pushes everything pending, answers arriving."""
    while tablet.outbox.pending:
        batch = tablet.outbox.pending[:3]
        settle(world, tablet, batch, tablet.client.push(batch))


# --- the property -------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTIONS, min_size=10, max_size=40))
def test_server_holds_exactly_the_acknowledged_mutations(factory, actions):
    """Random pushes, retries, replays, reorders and lost answers from two devices of one school."""
    school = factory.school()  # a new school per example, in the same database
    tablets = []
    for _ in range(2):
        client = factory.device(Role.PEDAGOGUE, school)
        lossy = SyncClient(LostResponse(factory.transport), token=client.token, device_id=client.device_id)
        tablets.append(Tablet(client=client, lossy=lossy))
    world = World(factory=factory, school=school, tablets=tablets)

    for action in actions:
        tablet = tablets[action[1]]
        match action:
            case ("register", _, last_year):
                do_register(world, tablet, last_year)
            case ("amend", _, which, stale):
                do_amend(world, tablet, which, stale)
            case ("push", _, offset, length, order):
                do_push(world, tablet, offset, length, order)
            case ("lose", _, count):
                do_lose(tablet, count)
            case ("flush", _):
                do_flush(world, tablet)

    for tablet in tablets:
        do_flush(world, tablet)

    acknowledged: set[str] = set()
    refused: set[str] = set()
    for tablet in tablets:
        assert not tablet.outbox.pending
        # Nothing made is lost from the device: it is acknowledged or kept under "needs attention".
        attention = {m["id"] for m, _ in tablet.outbox.needs_attention}
        assert set(tablet.outbox.acknowledged) | attention == {m["id"] for m in tablet.made}
        assert not set(tablet.outbox.acknowledged) & attention
        acknowledged |= set(tablet.outbox.acknowledged)
        refused |= attention

    with factory.app.app_context():
        events = [str(u) for u in db.session.scalars(select(Event.uuid).where(Event.school_id == school.id))]
        assert len(events) == len(set(events)), "an event was recorded twice"
        assert set(events) == acknowledged
        assert not set(events) & refused

        registered = {
            m["appeal_id"] for t in tablets for m in t.made if m["id"] in acknowledged and m["type"] == REGISTERED
        }
        appeals = db.session.execute(
            select(Appeal.uuid, Appeal.school_year, Appeal.serial_no).where(Appeal.school_id == school.id)
        ).all()
        assert {str(a.uuid) for a in appeals} == registered
        by_year: dict[int, list[int]] = {}
        for appeal in appeals:
            by_year.setdefault(appeal.school_year, []).append(appeal.serial_no)
        for year, serials in by_year.items():
            assert sorted(serials) == list(range(1, len(serials) + 1)), (year, serials)

        assert first_break() is None
