"""Push: idempotent delivery, seq bookkeeping, refusals, amendments, serial numbers and bad input.

Every test drives the real app over Flask's test client and inspects the real database; "nothing
applied" is checked by comparing a snapshot of every journal table before and after.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.db import db
from server.models import Appeal, DataKey, Device, Event, Receipt, School, SerialCounter
from server.services import retention
from server.services import sync as sync_service
from sync.client import Outbox, SyncClient, SyncError, Transport
from sync.events import Role
from tests.clock import school_today
from tests.factory import PASSWORD, registration

REGISTERED = "appeal.registered"
AMENDED = "appeal.amended"


# --- helpers ------------------------------------------------------------------------------------------


def mutation(
    seq: int,
    type: str = REGISTERED,
    appeal_id: str | None = None,
    base_version: int | None = None,
    data: dict[str, Any] | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """One wire mutation; a valid registration unless told otherwise."""
    return {
        "seq": seq,
        "id": id or str(uuid.uuid4()),
        "type": type,
        "appeal_id": appeal_id or str(uuid.uuid4()),
        "base_version": base_version,
        "data": registration() if data is None else data,
    }


def amendment(changes: dict[str, Any], reason: str = "Опечатка при регистрации.") -> dict[str, Any]:
    return {"changes": changes, "reason": reason}


def journal_state(app: Flask) -> dict[str, Any]:
    """Everything a push may change, to prove that a refused request changed none of it."""
    with app.app_context():
        s = db.session
        return {
            "events": sorted((str(e.uuid), e.position, e.hash) for e in s.scalars(select(Event))),
            "appeals": sorted(
                (str(a.uuid), a.serial_no, a.version, a.change_no, bytes(a.contents)) for a in s.scalars(select(Appeal))
            ),
            "schools": sorted(
                (x.id, x.chain_head, x.chain_length, x.last_change_no) for x in s.scalars(select(School))
            ),
            "devices": sorted((d.id, d.last_seq) for d in s.scalars(select(Device))),
            "receipts": sorted((r.device_id, r.seq, str(r.mutation_id), r.status) for r in s.scalars(select(Receipt))),
            "serials": sorted((c.school_id, c.school_year, c.last_serial) for c in s.scalars(select(SerialCounter))),
            "data_keys": s.scalar(select(func.count()).select_from(DataKey)),
        }


def event_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Event)) or 0)


def event_ids(app: Flask) -> set[str]:
    with app.app_context():
        return {str(u) for u in db.session.scalars(select(Event.uuid))}


def push_error(device: SyncClient, mutations: list[dict[str, Any]]) -> SyncError:
    with pytest.raises(SyncError) as caught:
        device.push(mutations)
    return caught.value


def raw_push(client: FlaskClient, device: SyncClient, **request: Any) -> tuple[int, Any]:
    """A push with full control of the body and headers; returns the status and the JSON answer."""
    headers = request.pop("headers", {"Authorization": f"Bearer {device.token}"})
    response = client.post("/api/v1/sync/push", headers=headers, **request)
    assert response.is_json, response.data[:200]
    return response.status_code, response.get_json()


def assert_error(status: int, body: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["error"] == code, body
    assert set(body) >= {"error", "message", "fields"}
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)


class LostResponse:
    """A transport whose request reaches the server and commits, but whose answer never comes back."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.calls = 0

    def __call__(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        self.transport(method, path, body, headers)
        self.calls += 1
        raise ConnectionError("connection reset after the request was sent")


def over(transport: Transport, device: SyncClient) -> SyncClient:
    """The same enrolled device, talking through another transport."""
    return SyncClient(transport, token=device.token, device_id=device.device_id)


def queue_registrations(outbox: Outbox, count: int, **overrides: Any) -> list[dict[str, Any]]:
    """Queue ``count`` registrations; returns copies of the mutations, to send again byte for byte."""
    return [dict(outbox.add(REGISTERED, str(uuid.uuid4()), registration(**overrides))) for _ in range(count)]


# --- idempotent delivery ------------------------------------------------------------------------------


def test_pushing_twice_gives_each_appeal_once_numbered_1_to_n(app, factory):
    """N registrations pushed twice: N appeals numbered 1..N; the second push answers `duplicate` alike."""
    n = 25
    device = factory.device()
    outbox = Outbox()
    sent = queue_registrations(outbox, n)
    outbox.flush(device)
    first = outbox.acknowledged
    assert [first[m["id"]]["status"] for m in sent] == ["applied"] * n
    assert [first[m["id"]]["serial_no"] for m in sent] == list(range(1, n + 1))

    # The device sends the very same mutations again, as it does after a lost answer.
    answer = device.push(sent)
    assert answer["last_seq"] == n
    for m, result in zip(sent, answer["results"], strict=True):
        assert (result["seq"], result["id"], result["status"]) == (m["seq"], m["id"], "duplicate")
        assert (result["serial_no"], result["version"]) == (first[m["id"]]["serial_no"], first[m["id"]]["version"])

    changes, _ = device.pull_all()
    assert sorted(c["serial_no"] for c in changes) == list(range(1, n + 1))
    assert {c["id"] for c in changes} == {m["appeal_id"] for m in sent}
    assert event_count(app) == n


def test_lost_response_then_retry_creates_no_duplicate(app, factory):
    """The server commits, the answer is lost, the device retries: every mutation is held exactly once."""
    device = factory.device()
    outbox = Outbox()
    sent = queue_registrations(outbox, 7)
    lossy = LostResponse(factory.transport)

    # Batches of 3: the first batch commits on the server, then the connection drops.
    with pytest.raises(ConnectionError):
        outbox.flush(over(lossy, device), batch_size=3)
    assert lossy.calls == 1
    assert outbox.pending == sent  # nothing acknowledged, nothing dropped
    assert event_ids(app) == {m["id"] for m in sent[:3]}

    # Once more with the answer lost, now over a batch that mixes replays and new mutations.
    with pytest.raises(ConnectionError):
        outbox.flush(over(lossy, device), batch_size=5)
    assert event_ids(app) == {m["id"] for m in sent[:5]}

    outbox.flush(device, batch_size=3)
    assert not outbox.pending and not outbox.needs_attention
    statuses = [outbox.acknowledged[m["id"]]["status"] for m in sent]
    assert statuses == ["duplicate"] * 5 + ["applied"] * 2
    assert [outbox.acknowledged[m["id"]]["serial_no"] for m in sent] == list(range(1, 8))

    changes, _ = device.pull_all()
    assert sorted(c["serial_no"] for c in changes) == list(range(1, 8))
    assert {c["id"] for c in changes} == {m["appeal_id"] for m in sent}
    assert event_ids(app) == {m["id"] for m in sent}
    assert event_count(app) == 7


# --- seq bookkeeping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delivered", "batch"),
    [
        pytest.param(0, [2], id="first-push-starts-at-2"),
        pytest.param(1, [3], id="skips-one"),
        pytest.param(1, [2, 4], id="gap-inside-the-batch"),
        pytest.param(2, [1, 2, 4], id="replays-then-a-gap"),
    ],
)
def test_seq_gap_gets_409_with_last_seq_and_applies_nothing(app, factory, delivered, batch):
    """A gap in seq: 409 `seq_gap` carrying `last_seq`; not even the contiguous part of the batch applies."""
    device = factory.device()
    outbox = Outbox()
    earlier = queue_registrations(outbox, delivered)
    outbox.flush(device)
    before = journal_state(app)

    by_seq = {m["seq"]: m for m in earlier}
    error = push_error(device, [by_seq.get(seq) or mutation(seq) for seq in batch])
    assert_error(error.status, error.body, 409, "seq_gap")
    assert error.body["last_seq"] == delivered
    assert journal_state(app) == before


def test_reused_seq_with_another_mutation_id_is_rejected(app, factory):
    """Two different mutations numbered alike: the second is `rejected` `seq_reused`, never applied."""
    device = factory.device()
    first = mutation(1)
    assert device.push([first])["results"][0]["status"] == "applied"

    impostor = mutation(1)
    answer = device.push([impostor])
    assert answer["last_seq"] == 1
    assert answer["results"][0] == {
        "seq": 1,
        "id": impostor["id"],
        "status": "rejected",
        "error": "seq_reused",
        "serial_no": None,
        "version": None,
        "held_by": None,
    }
    changes, _ = device.pull_all()
    assert [c["id"] for c in changes] == [first["appeal_id"]]
    assert event_ids(app) == {first["id"]}


def _login_again(factory: Any, username: str, device: SyncClient) -> SyncClient:
    """The same tablet logging in again with its device id (a lapsed token): the same device row."""
    status, answer = factory.transport(
        "POST",
        "/api/v1/auth/token",
        {"username": username, "password": PASSWORD, "device_name": "tablet", "device_id": device.device_id},
        {},
    )
    assert status == 201 and answer["device_id"] == device.device_id, answer
    return SyncClient(factory.transport, token=answer["token"], device_id=answer["device_id"])


def test_the_same_mutation_again_from_its_device_at_a_new_seq_is_a_duplicate(app, factory):
    """The tablet lost the answer and its numbering (a new seq), logs in again on the same device and re-sends
    a delivered mutation byte for byte: `duplicate`, one appeal, and the seq moves on."""
    school = factory.school()
    username = factory.user(school)
    old = SyncClient(factory.transport)
    old.login(username, PASSWORD, device_name="tablet")
    delivered = mutation(1)
    applied = old.push([delivered])["results"][0]
    assert applied["status"] == "applied"

    again = _login_again(factory, username, old)
    answer = again.push([{**delivered, "seq": 2}])
    assert answer["last_seq"] == 2
    result = answer["results"][0]
    assert (result["status"], result["error"], result["serial_no"], result["version"]) == (
        "duplicate",
        None,
        applied["serial_no"],
        1,
    )
    follow_up = again.push([mutation(3)])["results"][0]
    assert (follow_up["status"], follow_up["serial_no"]) == ("applied", 2)
    assert event_count(app) == 2


def _other_contents(known: dict[str, Any], _appeal: dict[str, Any]) -> dict[str, Any]:
    return {**known, "data": {**known["data"], "summary": "Башка кат."}}


def _another_appeal(known: dict[str, Any], _appeal: dict[str, Any]) -> dict[str, Any]:
    # A second letter made with the first one's mutation id (a copied outbox entry, a client's bug).
    return {**known, "appeal_id": str(uuid.uuid4())}


def _another_type(known: dict[str, Any], appeal: dict[str, Any]) -> dict[str, Any]:
    return {**known, "type": AMENDED, "base_version": 2, "data": amendment({"urgent": True})}


def _another_base_version(_known: dict[str, Any], appeal: dict[str, Any]) -> dict[str, Any]:
    return {**appeal, "base_version": 2}


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_other_contents, id="other-contents"),
        pytest.param(_another_appeal, id="another-appeal"),
        pytest.param(_another_type, id="another-event-type"),
        pytest.param(_another_base_version, id="another-base-version"),
    ],
)
def test_a_known_id_on_another_mutation_is_rejected_id_reused(app, factory, build):
    """One id, one mutation: a known id carrying anything else is `rejected` `id_reused`, never taken for
    delivered, and changes nothing of the journal (rows, chain, serial numbers)."""
    device = factory.device()
    known = mutation(1)
    amended = mutation(2, AMENDED, appeal_id=known["appeal_id"], base_version=1, data=amendment({"urgent": True}))
    assert [r["status"] for r in device.push([known, amended])["results"]] == ["applied", "applied"]
    target = known if build is not _another_base_version else amended
    before = journal_state(app)

    reused = {**build(known, amended), "seq": 3, "id": target["id"]}
    answer = device.push([reused])
    assert answer["last_seq"] == 3
    assert [(r["status"], r["error"], r["serial_no"], r["version"]) for r in answer["results"]] == [
        ("rejected", "id_reused", None, None)
    ]
    after = journal_state(app)
    assert {k: v for k, v in after.items() if k not in ("devices", "receipts")} == {
        k: v for k, v in before.items() if k not in ("devices", "receipts")
    }
    # The queue moves on: the next letter is numbered 2, so the refused one took no number.
    follow_up = device.push([mutation(4)])["results"][0]
    assert (follow_up["status"], follow_up["serial_no"]) == ("applied", 2)


def test_a_known_id_from_another_device_is_rejected_id_reused(app, factory):
    """The very same mutation, byte for byte, from another tablet of the school: that tablet never delivered
    it, so it is no resend of its own: `id_reused`, and the letter is not numbered twice."""
    school = factory.school()
    first, second = factory.device(school=school), factory.device(school=school)
    known = mutation(1)
    assert first.push([known])["results"][0]["status"] == "applied"
    before = journal_state(app)
    answer = second.push([known])
    assert [(r["status"], r["error"]) for r in answer["results"]] == [("rejected", "id_reused")]
    after = journal_state(app)
    assert {k: v for k, v in after.items() if k not in ("devices", "receipts")} == {
        k: v for k, v in before.items() if k not in ("devices", "receipts")
    }
    # Its receipt keeps the refusal: sent again at the same seq it is refused again, not acknowledged.
    assert second.push([known])["results"][0]["error"] == "id_reused"


def test_a_known_id_of_an_erased_case_is_compared_by_what_stayed_readable(app, factory):
    """Retention destroyed the case's key, so a resend is compared by the readable part of its event: the
    same mutation from its device is still `duplicate`; another base version is `id_reused`."""
    device = factory.device()
    known = mutation(1)
    today = known["data"]["received_on"]
    refused = mutation(2, "appeal.not_accepted", known["appeal_id"], 1, {"decided_on": today, "reason": "Жок"})
    assert [r["status"] for r in device.push([known, refused])["results"]] == ["applied", "applied"]
    with app.app_context():
        school = db.session.scalars(select(School)).one()
        later = dt.date.fromisoformat(today) + dt.timedelta(days=366 * 6)
        assert len(retention.purge(school, "cli:test", uuid.uuid4(), today=later)) == 1
        db.session.commit()
    answer = device.push([{**refused, "seq": 3}, {**refused, "seq": 4, "base_version": 5}])
    assert [(r["status"], r["error"]) for r in answer["results"]] == [("duplicate", None), ("rejected", "id_reused")]


# --- refusals -----------------------------------------------------------------------------------------


def _amend_unknown(_first: dict[str, Any]) -> dict[str, Any]:
    return mutation(2, AMENDED, base_version=1, data=amendment({"summary": "Исправлено."}))


def _received_in_future(_first: dict[str, Any]) -> dict[str, Any]:
    return mutation(2, data=registration(received_on=(school_today() + dt.timedelta(days=30)).isoformat()))


def _received_before_journal(_first: dict[str, Any]) -> dict[str, Any]:
    return mutation(2, data=registration(received_on="1999-12-31"))


def _same_appeal_again(first: dict[str, Any]) -> dict[str, Any]:
    return mutation(2, appeal_id=first["appeal_id"])


def _amendment_breaking_the_letter(first: dict[str, Any]) -> dict[str, Any]:
    # A signed letter loses its name: each field is valid, the corrected whole is not.
    changes = {"applicant": {"full_name": None}}
    return mutation(2, AMENDED, appeal_id=first["appeal_id"], base_version=1, data=amendment(changes))


@pytest.mark.parametrize(
    ("build", "code"),
    [
        pytest.param(_amend_unknown, "appeal_not_found", id="amend-unknown-appeal"),
        pytest.param(_received_in_future, "received_in_future", id="received-in-future"),
        pytest.param(_received_before_journal, "received_too_early", id="received-too-early"),
        pytest.param(_same_appeal_again, "appeal_exists", id="same-appeal-id-twice"),
        pytest.param(_amendment_breaking_the_letter, "invalid_amendment", id="invalid-amendment"),
    ],
)
def test_never_applicable_mutation_is_rejected_and_advances_last_seq(app, factory, build, code):
    """A mutation that can never apply: `rejected` with its code, nothing recorded, and the queue moves on."""
    device = factory.device()
    first = mutation(1)
    assert device.push([first])["results"][0]["status"] == "applied"
    before = journal_state(app)

    bad = build(first)
    answer = device.push([bad])
    assert answer["last_seq"] == 2
    result = answer["results"][0]
    assert (result["seq"], result["id"], result["status"], result["error"]) == (2, bad["id"], "rejected", code)
    assert bad["id"] not in event_ids(app)
    after = journal_state(app)
    assert {k: v for k, v in after.items() if k not in ("devices", "receipts")} == {
        k: v for k, v in before.items() if k not in ("devices", "receipts")
    }

    # The next seq is accepted: one bad mutation never jams the queue.
    following = device.push([mutation(3)])
    assert following["last_seq"] == 3
    assert following["results"][0]["status"] == "applied"


def test_replayed_refusal_is_answered_as_the_first_time(app, factory):
    """A refused or conflicting mutation sent again is answered as the first time, never as `duplicate`.

    Otherwise a device whose answer was lost would take the refusal for an acknowledgement and drop the
    letter from "needs attention" although the journal never held it.
    """
    device = factory.device()
    registered = mutation(1)
    device.push([registered])
    amended = mutation(2, AMENDED, appeal_id=registered["appeal_id"], base_version=1, data=amendment({"urgent": True}))
    stale = mutation(3, AMENDED, appeal_id=registered["appeal_id"], base_version=1, data=amendment({"urgent": False}))
    refused = mutation(4, AMENDED, base_version=1, data=amendment({"urgent": True}))
    first = device.push([amended, stale, refused])["results"]
    assert [(r["status"], r["error"]) for r in first] == [
        ("applied", None),
        ("conflict", "stale_version"),
        ("rejected", "appeal_not_found"),
    ]

    again = device.push([amended, stale, refused])
    assert again["last_seq"] == 4
    assert [(r["status"], r["error"], r["version"]) for r in again["results"]] == [
        ("duplicate", None, 2),
        ("conflict", "stale_version", 2),
        ("rejected", "appeal_not_found", None),
    ]

    # The same through the client: after a lost answer, the retry leaves the refusal under "needs attention".
    outbox = Outbox(next_seq=5)
    outbox.add(AMENDED, str(uuid.uuid4()), amendment({"urgent": True}), base_version=1)
    with pytest.raises(ConnectionError):
        outbox.flush(over(LostResponse(factory.transport), device))
    outbox.flush(device)
    assert not outbox.acknowledged
    assert [r["error"] for _m, r in outbox.needs_attention] == ["appeal_not_found"]


# --- amendments ---------------------------------------------------------------------------------------


def _registered(device: SyncClient, **overrides: Any) -> dict[str, Any]:
    m = mutation(1, data=registration(**overrides))
    assert device.push([m])["results"][0]["status"] == "applied"
    return m


def _only_change(device: SyncClient) -> dict[str, Any]:
    changes, _ = device.pull_all()
    assert len(changes) == 1
    return changes[0]


def test_amendment_with_current_version_is_applied(app, factory):
    """An amendment made against the current version: `applied`, version 2, and the pull shows it."""
    device = factory.device()
    registered = _registered(device)
    changes = {"summary": "Старшеклассники отбирают деньги.", "category": "violence_or_cruelty", "urgent": True}
    m = mutation(2, AMENDED, appeal_id=registered["appeal_id"], base_version=1, data=amendment(changes))
    result = device.push([m])["results"][0]
    assert (result["status"], result["error"], result["serial_no"], result["version"]) == ("applied", None, 1, 2)

    change = _only_change(device)
    assert (change["version"], change["serial_no"]) == (2, 1)
    assert (change["category"], change["urgent"]) == ("violence_or_cruelty", True)
    assert change["contents"]["summary"] == changes["summary"]
    # Fields the correction did not name stay as registered.
    assert change["contents"]["applicant"]["full_name"] == registration()["applicant"]["full_name"]
    assert event_count(app) == 2


def test_amendment_with_stale_version_conflicts_and_changes_nothing(app, factory):
    """An amendment made against an older version: `conflict` with the current version; nothing changes."""
    device = factory.device()
    registered = _registered(device)
    appeal_id = registered["appeal_id"]
    fresh = mutation(2, AMENDED, appeal_id=appeal_id, base_version=1, data=amendment({"summary": "Первая правка."}))
    assert device.push([fresh])["results"][0]["version"] == 2
    before = _only_change(device)
    state = journal_state(app)

    stale = mutation(3, AMENDED, appeal_id=appeal_id, base_version=1, data=amendment({"summary": "Вторая правка."}))
    answer = device.push([stale])
    assert answer["last_seq"] == 3
    result = answer["results"][0]
    assert (result["status"], result["error"], result["version"], result["serial_no"]) == (
        "conflict",
        "stale_version",
        2,
        1,
    )
    assert _only_change(device) == before
    assert before["contents"]["summary"] == "Первая правка."
    assert stale["id"] not in event_ids(app)
    after = journal_state(app)
    assert (after["events"], after["appeals"], after["schools"]) == (
        state["events"],
        state["appeals"],
        state["schools"],
    )


def test_marking_anonymous_clears_identity(app, factory):
    """Marking a signed letter anonymous removes the applicant's name, address and phone."""
    device = factory.device()
    registered = _registered(device)
    m = mutation(
        2,
        AMENDED,
        appeal_id=registered["appeal_id"],
        base_version=1,
        data=amendment({"applicant": {"anonymous": True}}),
    )
    assert device.push([m])["results"][0]["status"] == "applied"

    change = _only_change(device)
    assert (change["anonymous"], change["version"]) == (True, 2)
    applicant = change["contents"]["applicant"]
    assert (applicant["full_name"], applicant["address"], applicant["phone"]) == (None, None, None)
    assert change["contents"]["summary"] == registration()["summary"]


# --- serial numbers -----------------------------------------------------------------------------------


def test_serial_numbers_restart_each_school_year_and_per_school(app, factory):
    """31 August and 1 September fall in two school years, each numbered from 1; each school counts alone."""
    year = school_today().year - 1  # both days lie in the past, whatever today is
    school = factory.school("School A")
    device = factory.device(school=school)
    days = [dt.date(year, 9, 1), dt.date(year, 8, 31), dt.date(year, 9, 2)]
    sent = [mutation(i + 1, data=registration(received_on=d.isoformat())) for i, d in enumerate(days)]
    results = device.push(sent)["results"]
    assert [(r["status"], r["serial_no"]) for r in results] == [("applied", 1), ("applied", 1), ("applied", 2)]

    by_id = {c["id"]: c for c in device.pull_all()[0]}
    assert [(by_id[m["appeal_id"]]["school_year"], by_id[m["appeal_id"]]["serial_no"]) for m in sent] == [
        (year, 1),
        (year - 1, 1),
        (year, 2),
    ]

    # Another school, another pedagogue: numbered from 1, in both school years.
    other = factory.device(school=factory.school("School B"))
    results = other.push(
        [mutation(i + 1, data=registration(received_on=d.isoformat())) for i, d in enumerate(days[:2])]
    )["results"]
    assert [r["serial_no"] for r in results] == [1, 1]
    # A second pedagogue of the first school continues its count.
    colleague = factory.device(school=school)
    assert (
        colleague.push([mutation(1, data=registration(received_on=days[0].isoformat()))])["results"][0]["serial_no"]
        == 3
    )


# --- bad input ----------------------------------------------------------------------------------------


def _body(device: SyncClient, *mutations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"device_id": device.device_id, "mutations": list(mutations), **extra}


# The bad bodies are sent by a device that delivered seq 1 already: a valid batch goes on at seq 2.
def _valid(device: SyncClient) -> dict[str, Any]:
    return _body(device, mutation(2), mutation(3))


def _with(data_change: dict[str, Any]) -> Callable[[SyncClient], dict[str, Any]]:
    """A valid batch but for its second mutation, which has ``data_change`` merged into it."""

    def build(device: SyncClient) -> dict[str, Any]:
        return _body(device, mutation(2), {**mutation(3), **data_change})

    return build


def _big_body(device: SyncClient) -> dict[str, Any]:
    # Every field within its own limit, the whole over 1 MiB.
    return _body(device, *(mutation(i + 2, data=registration(text="x" * 19_000)) for i in range(60)))


BAD_BODIES: list[Any] = [
    pytest.param({"data": b"{not json"}, 400, "invalid_json", None, id="malformed-json"),
    pytest.param({"data": b'{"device_id": "x", '}, 400, "invalid_json", None, id="truncated-json"),
    pytest.param({"json": [1, 2]}, 422, "validation_error", "_schema", id="body-is-a-list"),
    pytest.param({"json": "push"}, 422, "validation_error", "_schema", id="body-is-a-string"),
    pytest.param({"data": b"null"}, 422, "validation_error", "_schema", id="body-is-null"),
    pytest.param(lambda d: _body(d, mutation(2), colour="red"), 422, "validation_error", "colour", id="unknown-top"),
    pytest.param(
        lambda d: _body(d, mutation(2), mutation(3, data=registration(colour="red"))),
        422,
        "validation_error",
        "colour",
        id="unknown-in-data",
    ),
    pytest.param(
        lambda d: _body(d, mutation(2), {**mutation(3), "priority": 1}),
        422,
        "validation_error",
        "priority",
        id="unknown-in-mutation",
    ),
    pytest.param(_with({"seq": "3"}), 422, "validation_error", "seq", id="seq-as-string"),
    pytest.param(_with({"seq": 3.5}), 422, "validation_error", "seq", id="seq-as-float"),
    pytest.param(_with({"seq": 0}), 422, "validation_error", "seq", id="seq-zero"),
    pytest.param(_with({"appeal_id": "42"}), 422, "validation_error", "appeal_id", id="appeal-id-not-uuid"),
    pytest.param(_with({"data": registration(urgent="true")}), 422, "validation_error", "urgent", id="bool-as-string"),
    pytest.param(_with({"data": registration(urgent=1)}), 422, "validation_error", "urgent", id="bool-as-number"),
    pytest.param(_with({"data": []}), 422, "validation_error", "data", id="data-not-object"),
    pytest.param(_with({"type": "appeal.deleted"}), 422, "validation_error", "type", id="unknown-event-type"),
    pytest.param(_with({"base_version": 1}), 422, "validation_error", "base_version", id="registration-with-base"),
    pytest.param(
        _with({"type": AMENDED, "data": amendment({"urgent": True})}),
        422,
        "validation_error",
        "base_version",
        id="amendment-without-base",
    ),
    pytest.param(
        lambda d: _body(d, mutation(3), mutation(2)), 422, "validation_error", "mutations", id="seq-decreasing"
    ),
    pytest.param(lambda d: _body(d, mutation(2), mutation(2)), 422, "validation_error", "mutations", id="seq-repeated"),
    pytest.param(
        _with({"data": registration(summary="Деньги\x00отбирают")}), 422, "validation_error", "summary", id="nul-char"
    ),
    pytest.param(lambda d: {"mutations": [mutation(2)]}, 422, "validation_error", "device_id", id="device-id-missing"),
    pytest.param(
        # A moment before UTC's year 1 begins: it once reached the database and answered 500 (found by fuzzing).
        _with(
            {
                "type": "opening.recorded",
                "appeal_id": None,
                "data": {
                    "opened_at": "0001-01-01T00:00:00+06:00",
                    "members": [{"name": "А. Ж.", "position": "мугалим"}],
                    "letters_count": 1,
                    "seal": "intact",
                },
            }
        ),
        422,
        "validation_error",
        "opened_at",
        id="moment-with-no-utc",
    ),
    pytest.param(
        lambda d: _body(d, *(mutation(i + 2) for i in range(201))), 413, "too_many_mutations", None, id="201-mutations"
    ),
    pytest.param(_big_body, 413, "payload_too_large", None, id="over-1-MiB"),
    pytest.param(
        lambda d: {**_valid(d), "device_id": str(uuid.uuid4())}, 403, "device_mismatch", None, id="another-device"
    ),
]


def _contains_key(tree: Any, key: str) -> bool:
    if isinstance(tree, dict):
        return key in tree or any(_contains_key(v, key) for v in tree.values())
    if isinstance(tree, list):
        return any(_contains_key(v, key) for v in tree)
    return False


@pytest.mark.parametrize(("request_", "status", "code", "field"), BAD_BODIES)
def test_bad_push_is_a_4xx_json_error_and_applies_nothing(app, client, factory, request_, status, code, field):
    """Bad input gets a 4xx `{error, message, fields}` with a stable code, and the journal is untouched."""
    device = factory.device()
    # One mutation delivered before, so that "nothing applied" also covers device and school counters.
    assert device.push([mutation(1)])["last_seq"] == 1
    before = journal_state(app)

    if callable(request_):
        request_ = {"data": json.dumps(request_(device)).encode()}
    answer_status, answer = raw_push(client, device, content_type="application/json", **request_)

    assert_error(answer_status, answer, status, code)
    if field is not None:
        assert _contains_key(answer["fields"], field), answer["fields"]
    assert journal_state(app) == before


def test_each_bad_body_would_otherwise_be_accepted(app, client, factory):
    """Control for the table above: the same valid batch, correctly numbered, is applied."""
    device = factory.device()
    assert device.push([mutation(1)])["last_seq"] == 1
    status, answer = raw_push(client, device, json=_valid(device))
    assert status == 200, answer
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"]


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.ADMIN, Role.COMMISSION])
def test_role_that_may_not_register_gets_403(app, factory, role):
    """Director, admin and commission may not record `appeal.registered`: 403 `role_not_allowed`."""
    school = factory.school()
    factory.register(factory.device(school=school), count=1)
    device = factory.device(role, school)
    before = journal_state(app)

    error = push_error(device, [mutation(1), mutation(2)])
    assert_error(error.status, error.body, 403, "role_not_allowed")
    assert journal_state(app) == before


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "missing_token", id="no-header"),
        pytest.param("Bearer ", "missing_token", id="empty-token"),
        pytest.param("Basic cGVkYWdvZ3VlOnNlY3JldA==", "missing_token", id="basic-scheme"),
        pytest.param("Bearer not-a-token", "invalid_token", id="unknown-token"),
    ],
)
def test_push_without_valid_token_gets_401(app, client, factory, authorization, code):
    """No token or a bad one: 401 with a stable code, before anything is read or written."""
    device = factory.device()
    before = journal_state(app)
    headers = {"Authorization": authorization} if authorization else {}
    status, answer = raw_push(client, device, headers=headers, json=_valid(device))
    assert_error(status, answer, 401, code)
    assert journal_state(app) == before


def test_other_schools_appeal_cannot_be_touched(app, factory):
    """An amendment naming another school's appeal finds nothing (`appeal_not_found`); that appeal is unchanged."""
    ours = factory.device()
    registered = _registered(ours)
    ours_before = _only_change(ours)

    intruder = factory.device()  # a pedagogue of another school
    amend = mutation(
        1, AMENDED, appeal_id=registered["appeal_id"], base_version=1, data=amendment({"summary": "Подмена."})
    )
    take_over = mutation(2, appeal_id=registered["appeal_id"])
    answer = intruder.push([amend, take_over])
    assert answer["last_seq"] == 2
    assert [(r["status"], r["error"], r["serial_no"], r["version"]) for r in answer["results"]] == [
        ("rejected", "appeal_not_found", None, None),
        ("rejected", "appeal_exists", None, None),
    ]
    assert _only_change(ours) == ours_before
    assert intruder.pull_all()[0] == []
    assert event_ids(app) == {registered["id"]}


# --- the batch path: one flush per push, and the careful rerun -------------------------------------------


def test_another_schools_event_id_is_rejected_id_conflict_and_the_rest_applied(app, factory):
    """A mutation id already stored by another school is `id_conflict`; its batch mates are applied."""
    other = factory.device()
    taken = mutation(1)
    assert other.push([taken])["results"][0]["status"] == "applied"

    device = factory.device()
    clash = {**mutation(2), "id": taken["id"]}
    answer = device.push([mutation(1), clash, mutation(3)])
    assert [(r["status"], r["error"], r["serial_no"]) for r in answer["results"]] == [
        ("applied", None, 1),
        ("rejected", "id_conflict", None),
        ("applied", None, 2),
    ]
    assert answer["last_seq"] == 3


def test_the_same_mutation_twice_in_one_batch_is_applied_once(app, factory):
    """The second copy finds the first among the batch's own, not yet flushed, records: `duplicate`."""
    device = factory.device()
    first = mutation(1)
    answer = device.push([first, {**first, "seq": 2}])
    assert [(r["status"], r["serial_no"]) for r in answer["results"]] == [("applied", 1), ("duplicate", 1)]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Appeal)) == 1


def test_a_race_lost_at_the_batch_flush_reruns_the_batch_a_mutation_at_a_time(app, factory, monkeypatch):
    """Another school's push may take an appeal id between our check and our flush (each school has its own
    lock). The batch's one flush then fails on the unique constraint; the batch is run again with a savepoint
    per mutation, the loser is `id_conflict` and the others are applied, numbered without a gap.

    The race is made certain by a check that does not see the other school's appeal, as it would not when
    that school's push commits just after the check."""
    other = factory.device()
    taken = mutation(1)
    assert other.push([taken])["results"][0]["status"] == "applied"
    monkeypatch.setattr(
        "server.services.kinds.Lookups.taken_elsewhere", lambda self, kind, record_id: False, raising=True
    )
    flushes: list[int] = []
    real_apply_all = sync_service._apply_all

    def counted(actor, device, mutations, careful):  # type: ignore[no-untyped-def]
        flushes.append(careful)
        return real_apply_all(actor, device, mutations, careful)

    monkeypatch.setattr(sync_service, "_apply_all", counted)
    device = factory.device()
    clash = mutation(2, appeal_id=taken["appeal_id"])
    answer = device.push([mutation(1), clash, mutation(3)])
    assert flushes == [False, True]  # the unit first, then the careful rerun
    assert [(r["status"], r["error"], r["serial_no"]) for r in answer["results"]] == [
        ("applied", None, 1),
        ("rejected", "id_conflict", None),
        ("applied", None, 2),
    ]
    assert answer["last_seq"] == 3
    with app.app_context():
        ours = select(Device.id).where(Device.uuid == uuid.UUID(device.device_id)).scalar_subquery()
        receipts = db.session.scalars(select(Receipt.status).where(Receipt.device_id == ours).order_by(Receipt.seq))
        assert list(receipts) == ["applied", "rejected", "applied"]


# --- one slip, one letter -------------------------------------------------------------------------------

CODE = "K7M2QX"


def _check(client: FlaskClient, device: SyncClient, code: Any) -> tuple[int, Any]:
    response = client.post(
        "/api/v1/receipt-codes/check",
        json={"receipt_code": code},
        headers={"Authorization": f"Bearer {device.token}"},
    )
    return response.status_code, response.get_json()


def _holder(change: dict[str, Any]) -> dict[str, Any]:
    return {k: change[k] for k in ("id", "serial_no", "school_year", "received_on")}


def test_two_tablets_registering_one_code_the_second_is_refused_naming_the_first(app, factory):
    """Two tablets register letters with the same slip's code offline; the second to sync is `rejected`
    `receipt_code_used`, its result naming the letter that holds the code, and nothing of it is recorded."""
    school = factory.school()
    first, second = factory.device(school=school), factory.device(school=school)
    held = mutation(1, data=registration(receipt_code=CODE))
    applied = first.push([held])["results"][0]
    assert (applied["status"], applied["held_by"]) == ("applied", None)
    before = journal_state(app)

    mine = mutation(1, data=registration(receipt_code=CODE, summary="Башка кат."))
    result = second.push([mine, mutation(2)])["results"]
    holder = _holder(first.pull()["changes"][0])
    assert [(r["status"], r["error"], r["serial_no"], r["held_by"]) for r in result] == [
        ("rejected", "receipt_code_used", None, holder),
        ("applied", None, 2, None),
    ]
    assert holder["id"] == held["appeal_id"] and holder["serial_no"] == 1
    assert mine["id"] not in event_ids(app)
    after = journal_state(app)
    assert after["serials"] != before["serials"] and len(after["events"]) == len(before["events"]) + 1
    # In one batch too: the second letter finds the first among the batch's own.
    third = factory.device(school=school)
    twice = [mutation(seq, data=registration(receipt_code="AB12CD")) for seq in (1, 2)]
    assert [r["error"] for r in third.push(twice)["results"]] == [None, "receipt_code_used"]
    # Another school may hold the same code: codes are the school's own.
    elsewhere = factory.device()
    assert elsewhere.push([mutation(1, data=registration(receipt_code=CODE))])["results"][0]["status"] == "applied"


def test_the_online_check_names_the_holder_for_a_pedagogue_only(client, factory):
    school = factory.school()
    pedagogue = factory.device(school=school)
    assert _check(client, pedagogue, CODE) == (200, {"held_by": None})  # no index key yet: nothing holds it
    held = mutation(1, data=registration(receipt_code=CODE))
    pedagogue.push([held])
    status, body = _check(client, pedagogue, CODE)
    assert (status, body) == (200, {"held_by": _holder(pedagogue.pull()["changes"][0])})
    assert _check(client, pedagogue, "ZZ99ZZ") == (200, {"held_by": None})
    assert _check(client, factory.device(), CODE) == (200, {"held_by": None})  # another school's letters
    for bad in ("k7m2qx", "K7M2Q", "K7M2QI", None, 7):
        status, body = _check(client, pedagogue, bad)
        assert (status, body["error"]) == (422, "validation_error"), bad
        assert CODE not in json.dumps(body)
    for role in (Role.COMMISSION, Role.DIRECTOR, Role.ADMIN):
        status, body = _check(client, factory.device(role, school=school), CODE)
        assert (status, body["error"]) == (403, "role_not_allowed")


def test_a_correction_to_a_taken_code_is_refused_and_to_its_own_code_is_fine(app, factory):
    device = factory.device()
    holder, other = mutation(1, data=registration(receipt_code=CODE)), mutation(2)
    assert [r["status"] for r in device.push([holder, other])["results"]] == ["applied", "applied"]
    taken = mutation(3, AMENDED, other["appeal_id"], 1, amendment({"receipt_code": CODE}))
    own = mutation(4, AMENDED, holder["appeal_id"], 1, amendment({"receipt_code": CODE, "urgent": True}))
    freed = mutation(5, AMENDED, holder["appeal_id"], 2, amendment({"receipt_code": None}))
    now_free = mutation(6, AMENDED, other["appeal_id"], 1, amendment({"receipt_code": CODE}))
    results = device.push([taken, own, freed, now_free])["results"]
    assert [(r["status"], r["error"]) for r in results] == [
        ("rejected", "receipt_code_used"),
        ("applied", None),
        ("applied", None),
        ("applied", None),
    ]
    assert results[0]["held_by"]["id"] == holder["appeal_id"]
    # A correction of other fields keeps the letter's code without asking again.
    assert (
        device.push([mutation(7, AMENDED, other["appeal_id"], 2, amendment({"urgent": True}))])["results"][0]["status"]
        == "applied"
    )
    second = mutation(8, data=registration(receipt_code=CODE))
    assert device.push([second])["results"][0]["held_by"]["id"] == other["appeal_id"]


def test_an_erased_letter_frees_its_code(app, factory, client):
    device = factory.device()
    held = mutation(1, data=registration(receipt_code=CODE))
    today = held["data"]["received_on"]
    refused = mutation(2, "appeal.not_accepted", held["appeal_id"], 1, {"decided_on": today, "reason": "Жок"})
    device.push([held, refused])
    assert _check(client, device, CODE)[1]["held_by"]["id"] == held["appeal_id"]
    with app.app_context():
        school = db.session.scalars(select(School)).one()
        later = dt.date.fromisoformat(today) + dt.timedelta(days=366 * 6)
        assert len(retention.purge(school, "cli:test", uuid.uuid4(), today=later)) == 1
        db.session.commit()
        assert db.session.scalars(select(Appeal.receipt_digest)).one() is None
    assert _check(client, device, CODE) == (200, {"held_by": None})
    assert device.push([mutation(3, data=registration(receipt_code=CODE))])["results"][0]["status"] == "applied"


def test_rows_keep_a_keyed_digest_never_the_code_and_no_code_reaches_the_logs(app, factory, client, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    device = factory.device()
    device.push([mutation(1, data=registration(receipt_code=CODE)), mutation(2, data=registration(receipt_code=CODE))])
    _check(client, device, CODE)
    with app.app_context():
        digests = list(db.session.scalars(select(Appeal.receipt_digest)))
    assert len(digests) == 1 and digests[0] is not None and len(digests[0]) == 64
    assert CODE not in caplog.text and CODE.encode() not in json.dumps(journal_state(app), default=str).encode()


def test_migration_0011_fills_in_the_digests_of_letters_recorded_before_it(app, factory, runner, client):
    """Down to 0010 (no digests, no index keys) and up again on a populated database: each letter with a
    code gets its digest under a new index key of its school, so the check finds the letters of before."""
    from sqlalchemy import inspect

    school = factory.school()
    device = factory.device(school=school)
    coded = mutation(1, data=registration(receipt_code=CODE))
    device.push([coded, mutation(2), mutation(3, data=registration(receipt_code="AB12CD"))])
    down = runner.invoke(args=["db", "downgrade", "0010"])
    assert down.exit_code == 0, (down.output, down.exception)
    with app.app_context():
        db.session.remove()
        assert "receipt_digest" not in {column["name"] for column in inspect(db.engine).get_columns("appeals")}
        assert db.session.scalar(select(func.count()).select_from(DataKey)) == 3  # the letters' own only
        db.session.remove()
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, (up.output, up.exception)
    with app.app_context():
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(DataKey)) == 4  # and the school's index key
        assert sum(d is not None for d in db.session.scalars(select(Appeal.receipt_digest))) == 2
    assert _check(client, device, CODE)[1]["held_by"]["id"] == coded["appeal_id"]
    assert device.push([mutation(4, data=registration(receipt_code="AB12CD"))])["results"][0]["error"] == (
        "receipt_code_used"
    )
    verified = runner.invoke(args=["verify"])
    assert verified.exit_code == 0, verified.output
