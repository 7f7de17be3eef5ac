"""Pull: cursor pagination over change numbers, school scoping, and who reads letter contents."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text

from server.db import db
from server.models import School
from server.services import retention
from sync import rules
from sync.client import Outbox, SyncClient, SyncError
from sync.events import Role
from tests.factory import PASSWORD, registration

REGISTERED = "appeal.registered"
AMENDED = "appeal.amended"


def register(device: SyncClient, outbox: Outbox, **overrides: Any) -> dict[str, Any]:
    """Register one letter through the device's outbox; returns the mutation as sent."""
    mutation = dict(outbox.add(REGISTERED, str(uuid.uuid4()), registration(**overrides)))
    outbox.flush(device)
    assert outbox.acknowledged[mutation["id"]]["status"] == "applied"
    return mutation


def pages(device: SyncClient, cursor: int, limit: int) -> list[dict[str, Any]]:
    """Every page from ``cursor`` until ``has_more`` is false."""
    result = []
    while True:
        page = device.pull(cursor, limit)
        result.append(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            return result


def raw_pull(client: FlaskClient, device: SyncClient, query: str = "") -> tuple[int, Any, str]:
    response = client.get(f"/api/v1/sync/pull{query}", headers={"Authorization": f"Bearer {device.token}"})
    return response.status_code, response.get_json(), response.get_data(as_text=True)


def test_pull_paginates_by_cursor_without_gaps_or_repeats(factory):
    """limit=2 over 5 appeals: 3 pages, has_more right, cursors growing, each appeal exactly once."""
    device = factory.device()
    outbox = Outbox()
    sent = [register(device, outbox) for _ in range(5)]

    result = pages(device, 0, 2)
    assert [len(p["changes"]) for p in result] == [2, 2, 1]
    assert [p["has_more"] for p in result] == [True, True, False]
    cursors = [0] + [p["cursor"] for p in result]
    assert cursors == sorted(set(cursors)), cursors
    change_nos = [c["change_no"] for p in result for c in p["changes"]]
    assert change_nos == sorted(set(change_nos))
    # Each page's cursor is its last change: the next page starts right after it.
    assert [p["cursor"] for p in result] == [p["changes"][-1]["change_no"] for p in result]
    ids = [c["id"] for p in result for c in p["changes"]]
    assert ids == [m["appeal_id"] for m in sent]  # oldest first, none twice, none missing
    assert [c["serial_no"] for p in result for c in p["changes"]] == [1, 2, 3, 4, 5]

    # Past the end: an empty page that keeps the cursor.
    end = result[-1]["cursor"]
    assert device.pull(end, 2) == {
        "changes": [],
        "cursor": end,
        "has_more": False,
        "calendar": result[0]["calendar"],
        "chain": result[-1]["chain"],
    }


@pytest.mark.parametrize("limit", [1, 3, 5, 6, 500])
def test_any_page_size_yields_every_change_once(factory, limit):
    """Whatever the page size, walking the pages yields each appeal once, in change order."""
    device = factory.device()
    outbox = Outbox()
    sent = [register(device, outbox) for _ in range(5)]
    result = pages(device, 0, limit)
    # has_more is exact: no trailing empty page, even when the last page is full.
    assert len(result) == -(-5 // limit)
    assert all(len(p["changes"]) <= limit for p in result)
    assert [p["has_more"] for p in result][-1] is False
    assert all(p["has_more"] for p in result[:-1])
    assert [c["id"] for p in result for c in p["changes"]] == [m["appeal_id"] for m in sent]


def test_amended_appeal_reappears_after_the_cursor(factory):
    """An amendment gives the appeal a new change number: it comes again after the cursor, at its new version."""
    device = factory.device()
    outbox = Outbox()
    sent = [register(device, outbox) for _ in range(3)]
    _changes, cursor = device.pull_all()

    amended = sent[1]
    outbox.add(AMENDED, amended["appeal_id"], {"changes": {"urgent": True}, "reason": "Уточнено."}, base_version=1)
    outbox.flush(device)

    changes, new_cursor = device.pull_all(cursor)
    assert [(c["id"], c["version"], c["urgent"]) for c in changes] == [(amended["appeal_id"], 2, True)]
    assert changes[0]["change_no"] > cursor and new_cursor == changes[0]["change_no"]
    assert changes[0]["serial_no"] == 2  # a correction keeps the appeal's number
    # From the start, the appeal shows once, at its latest version, after the others.
    everything, _ = device.pull_all()
    assert [c["id"] for c in everything] == [sent[0]["appeal_id"], sent[2]["appeal_id"], amended["appeal_id"]]
    assert everything[-1]["version"] == 2
    assert device.pull_all(new_cursor)[0] == []


def test_pull_never_shows_another_schools_appeals(factory):
    """Each school pulls its own journal only, whatever the cursor."""
    school_a, school_b = factory.school("School A"), factory.school("School B")
    device_a, device_b = factory.device(school=school_a), factory.device(school=school_b)
    outbox_a, outbox_b = Outbox(), Outbox()
    # Interleaved, so that the two schools' change numbers overlap.
    sent_a, sent_b = [], []
    for _ in range(3):
        sent_a.append(register(device_a, outbox_a))
        sent_b.append(register(device_b, outbox_b))

    for device, own, other in ((device_a, sent_a, sent_b), (device_b, sent_b, sent_a)):
        for cursor in (0, 1, 2):
            changes, _ = device.pull_all(cursor, limit=2)
            ids = {c["id"] for c in changes}
            assert ids <= {m["appeal_id"] for m in own}
            assert not ids & {m["appeal_id"] for m in other}
        assert [c["id"] for c in device.pull_all()[0]] == [m["appeal_id"] for m in own]
    # The commission of school B sees B's cases only.
    commission_b = factory.device(Role.COMMISSION, school_b)
    assert {c["id"] for c in commission_b.pull_all()[0]} == {m["appeal_id"] for m in sent_b}


# --- who reads contents -------------------------------------------------------------------------------

# Fictional values, each unique enough that finding it anywhere in a body means it leaked.
CANARY_APPLICANT = {
    "anonymous": False,
    "full_name": "Канарейка Тестовна Выдуманная",
    "age": 14,
    "role": "student",
    "grade": "8В",
    "address": "Canary street 77, village Testovka",
    "phone": "+996 700 123 987",
}
CANARY = registration(
    applicant=CANARY_APPLICANT,
    summary="Canary summary: кто-то пишет записки в раздевалке.",
    text="Canary text of the letter, длинный рассказ.",
    receipt_code="K7M2Q9",
)
CONFIDENTIAL_VALUES = [
    CANARY_APPLICANT["full_name"],
    CANARY_APPLICANT["address"],
    CANARY_APPLICANT["phone"],
    CANARY["summary"],
    CANARY["text"],
    CANARY["receipt_code"],
]


def expected_contents(data: dict[str, Any]) -> dict[str, Any]:
    applicant = data["applicant"]
    return {
        "applicant": {k: applicant[k] for k in ("full_name", "age", "grade", "address", "phone")},
        "summary": data["summary"],
        "text": data["text"],
        "receipt_code": data["receipt_code"],
        "case": rules.empty_case(),
    }


@pytest.mark.parametrize("role", [Role.PEDAGOGUE, Role.COMMISSION])
def test_readers_of_letters_pull_contents_as_registered(factory, role):
    """Pedagogue and commission pulls carry the contents exactly as registered."""
    school = factory.school()
    pedagogue = factory.device(school=school)
    outbox = Outbox()
    signed = register(pedagogue, outbox, **{k: v for k, v in CANARY.items()})
    anonymous = register(
        pedagogue,
        outbox,
        applicant={**registration()["applicant"], "anonymous": True, "full_name": None, "address": None, "phone": None},
    )

    reader = pedagogue if role is Role.PEDAGOGUE else factory.device(role, school)
    changes = {c["id"]: c for c in reader.pull_all()[0]}
    assert changes[signed["appeal_id"]]["contents"] == expected_contents(CANARY)
    assert changes[anonymous["appeal_id"]]["contents"] == expected_contents(anonymous["data"])
    assert changes[signed["appeal_id"]]["anonymous"] is False
    assert changes[anonymous["appeal_id"]]["anonymous"] is True


def test_director_pull_carries_no_confidential_field(client, factory):
    """Under default settings the director's pull has no `contents` and no confidential value anywhere."""
    school = factory.school()
    pedagogue = factory.device(school=school)
    outbox = Outbox()
    registered = register(pedagogue, outbox, **CANARY)
    # An amendment too: the corrected values must not leak either.
    outbox.add(
        AMENDED,
        registered["appeal_id"],
        {"changes": {"summary": CANARY["summary"] + " (corrected)"}, "reason": "Canary reason"},
        base_version=1,
    )
    outbox.flush(pedagogue)

    director = factory.device(Role.DIRECTOR, school)
    status, body, raw = raw_pull(client, director)
    assert status == 200
    assert len(body["changes"]) == 1
    change = body["changes"][0]
    assert "contents" not in change
    assert (change["id"], change["serial_no"], change["version"]) == (registered["appeal_id"], 1, 2)
    # The raw body escapes non-ASCII; search it, and the decoded JSON written out as plain UTF-8 too.
    decoded = json.dumps(body, ensure_ascii=False)
    for value in [*CONFIDENTIAL_VALUES, "Canary", "Канарейка", "Canary reason"]:
        assert value not in raw
        assert value not in decoded
        assert json.dumps(value)[1:-1] not in raw


def test_admin_pull_is_forbidden(client, factory):
    """The admin runs accounts, not cases: 403 `role_not_allowed`."""
    school = factory.school()
    register(factory.device(school=school), Outbox(), **CANARY)
    admin = factory.device(Role.ADMIN, school)
    with pytest.raises(SyncError) as caught:
        admin.pull()
    assert (caught.value.status, caught.value.code) == (403, "role_not_allowed")
    status, body, raw = raw_pull(client, admin)
    assert (status, set(body)) == (403, {"error", "message", "fields"})
    assert not any(value in raw or json.dumps(value)[1:-1] in raw for value in CONFIDENTIAL_VALUES)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?cursor=-1", "cursor"),
        ("?cursor=abc", "cursor"),
        ("?cursor=1.5", "cursor"),
        (f"?cursor={2**53}", "cursor"),
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=-3", "limit"),
        ("?limit=ten", "limit"),
    ],
)
def test_bad_pull_arguments_get_422(client, factory, query, field):
    """Out-of-range or non-numeric cursor and limit: 422 `validation_error` naming the argument."""
    device = factory.device()
    register(device, Outbox())
    status, body, _raw = raw_pull(client, device, query)
    assert status == 422, body
    assert body["error"] == "validation_error"
    assert field in body["fields"]
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "missing_token"), ({"Authorization": "Bearer forged"}, "invalid_token")],
)
def test_pull_without_valid_token_gets_401(client, factory, headers, code):
    """No token or a bad one: 401 and no journal."""
    register(factory.device(), Outbox(), **CANARY)
    response = client.get("/api/v1/sync/pull", headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (401, code)
    assert "changes" not in response.get_json()


def test_a_cursor_ahead_of_the_server_is_refused_not_answered_empty(factory):
    """After a restore from an older backup a device's cursor is ahead: it must pull again from 0."""
    device = factory.device()
    factory.register(device, count=3)
    _changes, cursor = device.pull_all()
    with pytest.raises(SyncError) as refused:
        device.pull(cursor + 1)
    assert (refused.value.status, refused.value.code, refused.value.body["cursor"]) == (409, "cursor_ahead", cursor)
    assert device.pull(cursor)["changes"] == []  # at the head is fine: nothing new


def test_history_lists_every_event_with_the_reason_only_for_readers(app, factory):
    school = factory.school()
    pedagogue = factory.device(school=school)
    director = factory.device(Role.DIRECTOR, school=school)
    outbox = factory.register(pedagogue)
    appeal = pedagogue.pull()["changes"][0]
    outbox.add(
        "appeal.amended",
        appeal["id"],
        {"changes": {"category": "other", "urgent": True}, "reason": "Туура эмес"},
        base_version=1,
    )
    outbox.flush(pedagogue)
    history = pedagogue.pull()["changes"][0]["history"]
    assert [h["type"] for h in history] == ["appeal.registered", "appeal.amended"]
    assert history[1]["fields"] == ["category", "urgent"] and history[1]["reason"] == "Туура эмес"
    assert history[0]["by"].startswith("Test pedagogue") and history[0]["fields"] == []
    director_history = director.pull()["changes"][0]["history"]
    assert [h["type"] for h in director_history] == ["appeal.registered", "appeal.amended"]
    assert all("reason" not in h for h in director_history)


def _named_device(factory: Any, school: Any, name: str, role: Role = Role.PEDAGOGUE) -> SyncClient:
    device = SyncClient(factory.transport)
    device.login(factory.user(school, role), PASSWORD, device_name=name)
    return device


def _send(device: SyncClient, type: str, appeal_id: str, data: dict[str, Any], base_version: int | None) -> None:
    outbox = Outbox(next_seq=device_next_seq(device))
    outbox.add(type, appeal_id, data, base_version=base_version)
    outbox.flush(device)
    assert [r["status"] for r in outbox.acknowledged.values()] == ["applied"], outbox.needs_attention


def device_next_seq(device: SyncClient) -> int:
    """The seq a device numbers its next mutation with: one past what it delivered (an empty push says)."""
    return int(device.push([])["last_seq"]) + 1


def test_history_shows_two_devices_corrections_of_one_field_with_their_values(factory):
    """Two tablets correct the same field in turn: each correction comes with its value before and after,
    who made it on which device, the version it was made against and its reason; a case-work step carries
    its data. A director who does not read letters gets the same entries' facts, and no value at all."""
    school = factory.school()
    first = _named_device(factory, school, "Кабинет 12")
    second = _named_device(factory, school, "Планшет психолога")
    director = factory.device(Role.DIRECTOR, school=school)
    appeal_id = str(uuid.uuid4())
    _send(first, "appeal.registered", appeal_id, registration(summary="Биринчи."), None)
    _send(second, "appeal.amended", appeal_id, {"changes": {"summary": "Экинчи."}, "reason": "Ката"}, 1)
    changes = {"summary": "Үчүнчү.", "applicant": {"anonymous": True}}
    _send(first, "appeal.amended", appeal_id, {"changes": changes, "reason": "Дагы ката"}, 2)
    referral = {"referred_on": registration()["received_on"], "authority": "police", "note": "Участковый"}
    _send(first, "appeal.referred", appeal_id, referral, 3)

    history = first.pull()["changes"][0]["history"]
    assert [(h["type"], h["base_version"], h["version"]) for h in history] == [
        ("appeal.registered", None, 1),
        ("appeal.amended", 1, 2),
        ("appeal.amended", 2, 3),
        ("appeal.referred", 3, 4),
    ]
    assert [(h["device"]["name"], h["by_role"]) for h in history] == [
        ("Кабинет 12", "pedagogue"),
        ("Планшет психолога", "pedagogue"),
        ("Кабинет 12", "pedagogue"),
        ("Кабинет 12", "pedagogue"),
    ]
    assert history[1]["device"]["id"] == second.device_id and history[2]["device"]["id"] == first.device_id
    assert history[1]["by"] != history[2]["by"]
    assert (history[1]["reason"], history[1]["changes"]) == (
        "Ката",
        [{"field": "summary", "before": "Биринчи.", "after": "Экинчи."}],
    )
    # Marking the letter anonymous removed the name, address and phone: the history says so, value by value.
    signed = registration()["applicant"]
    assert history[2]["reason"] == "Дагы ката"
    assert history[2]["changes"] == [
        {"field": "applicant.address", "before": signed["address"], "after": None},
        {"field": "applicant.anonymous", "before": False, "after": True},
        {"field": "applicant.full_name", "before": signed["full_name"], "after": None},
        {"field": "applicant.phone", "before": signed["phone"], "after": None},
        {"field": "summary", "before": "Экинчи.", "after": "Үчүнчү."},
    ]
    assert history[3]["data"] == {**referral, "outgoing_no": None, "contact": None}
    assert history[3]["facts"] == {"referred_on": referral["referred_on"], "authority": "police"}
    assert history[0]["facts"] == {
        "received_on": registration()["received_on"],
        "category": "bullying",
        "urgent": False,
        "anonymous": False,
        "applicant_role": "student",
    }
    assert all("data" not in h for h in history[:3]) and all("changes" not in h for h in (history[0], history[3]))

    hidden = director.pull()["changes"][0]["history"]
    assert [(h["type"], h["version"], h["device"], h["facts"], h["fields"]) for h in hidden] == [
        (h["type"], h["version"], h["device"], h["facts"], h["fields"]) for h in history
    ]
    assert all(not {"reason", "changes", "data"} & set(h) for h in hidden)
    assert "Экинчи" not in json.dumps(hidden, ensure_ascii=False)


def test_an_erased_case_shows_facts_and_no_values(app, factory):
    """Once retention erased a case its history keeps who, when and the readable facts, for every role,
    and carries no value, reason or data: there is no key left to open them with."""
    school = factory.school()
    pedagogue = factory.device(school=school)
    appeal_id = str(uuid.uuid4())
    today = registration()["received_on"]
    _send(pedagogue, "appeal.registered", appeal_id, registration(), None)
    _send(pedagogue, "appeal.amended", appeal_id, {"changes": {"summary": "Оңдолду."}, "reason": "Себеп"}, 1)
    _send(pedagogue, "appeal.not_accepted", appeal_id, {"decided_on": today, "reason": "Жооп жок"}, 2)
    with app.app_context():
        row = db.session.get(School, school.id)
        assert row is not None
        later = dt.date.fromisoformat(today) + dt.timedelta(days=366 * 6)
        assert len(retention.purge(row, "cli:test", uuid.uuid4(), today=later)) == 1
        db.session.commit()
    change = pedagogue.pull()["changes"][0]
    assert change["erased"] is True
    history = change["history"]
    assert [(h["type"], h["version"], h["fields"]) for h in history] == [
        ("appeal.registered", 1, []),
        ("appeal.amended", 2, ["summary"]),
        ("appeal.not_accepted", 3, []),
    ]
    assert history[2]["facts"] == {"decided_on": today}
    assert all(not {"reason", "changes", "data"} & set(h) for h in history)


def _statements_of(app: Any, call: Any) -> list[str]:
    """Every SQL statement ``call()`` makes the app send, whitespace folded and lower-cased."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return statements


def test_a_pull_with_nothing_new_reads_no_journal_and_takes_no_write_lock(app, factory):
    """The pull every device repeats: answered from the school's row, its cost flat in the journal's size.

    It must not wait behind a long push for the write lock, nor touch the appeals, events or read
    audit (benchmarks/test_sync_budgets.py measures it); its answer is that of any pull reaching the head.
    """
    device = factory.device()
    register(device, Outbox())
    walked = device.pull(0)
    answers: list[dict[str, Any]] = []
    statements = _statements_of(app, lambda: answers.append(device.pull(walked["cursor"])))
    assert answers[0] == {**walked, "changes": [], "has_more": False}
    assert statements, "the token is still checked"
    said = " ".join(statements)
    touched = set(re.findall(r"\b(?:from|join|into|update)\s+\"?(\w+)", said))
    assert touched.isdisjoint({"appeals", "events", "reads", "openings", "meetings", "reports"}), touched
    assert "begin immediate" not in said


def test_a_page_costs_the_same_queries_whatever_its_length(app, factory):
    """No query per appeal on a page (its data key, its history): a page of 12 reads like a page of 3."""

    def selects_of_a_page(count: int) -> int:
        device = factory.device()
        factory.register(device, count=count)
        pages: list[dict[str, Any]] = []
        statements = _statements_of(app, lambda: pages.append(device.pull(0, 100)))
        assert len(pages[0]["changes"]) == count
        return sum(1 for s in statements if s.startswith("select"))

    assert selects_of_a_page(12) == selects_of_a_page(3)


def test_a_pull_with_contents_reads_its_page_before_it_takes_the_write_lock(app, factory):
    """The page is read and decrypted in a read transaction; only the audit rows wait for the write lock.

    Held through the whole page, the lock made every other tablet's push and pull wait for this one's
    decryption (benchmarks/test_load.py); the reads are still recorded before the answer leaves.
    """
    school = factory.school()
    pedagogue, outbox = factory.device(school=school), Outbox()
    for _ in range(3):
        register(pedagogue, outbox)
    commission = factory.device(Role.COMMISSION, school=school)
    answers: list[dict[str, Any]] = []
    said = _statements_of(app, lambda: answers.append(commission.pull(0)))
    assert len(answers[0]["changes"]) == 3 and answers[0]["changes"][0]["contents"]["summary"]
    # SQLite's write lock is BEGIN IMMEDIATE; PostgreSQL's is the school's row, locked FOR UPDATE.
    first_write = next(i for i, s in enumerate(said) if s.startswith("begin immediate") or s.endswith("for update"))
    page = next(i for i, s in enumerate(said) if re.search(r"\bfrom appeals\b", s))
    recording = [i for i, s in enumerate(said) if s.startswith("insert into reads")]
    assert recording, said
    assert page < first_write < min(recording), said
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM reads")).scalar_one() == 3


def test_no_contents_leave_when_their_reads_cannot_be_recorded(app, factory, client):
    """A failed write of the audit rows fails the pull: the page built before it is never sent."""
    school = factory.school()
    register(factory.device(school=school), Outbox(), summary="CANARY-unrecorded-read")
    commission = factory.device(Role.COMMISSION, school=school)

    def refuse_reads(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().lower().startswith("insert into reads"):
            raise RuntimeError("the audit of reads is unavailable")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", refuse_reads)
    try:
        try:
            answer = client.get("/api/v1/sync/pull?cursor=0", headers={"Authorization": f"Bearer {commission.token}"})
        except RuntimeError:
            answer = None  # the test app propagates the exception: nothing was answered at all
    finally:
        event.remove(engine, "before_cursor_execute", refuse_reads)
    if answer is not None:
        assert answer.status_code >= 500, answer.data
        assert b"CANARY" not in answer.data
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM reads")).scalar_one() == 0
