"""Tamper evidence: ``flask --app wsgi verify`` and the typed errors of altered ciphertexts.

A journal of two schools (registrations and amendments) is built through the API, then one row is
altered with plain SQL, as someone with a copy of the database could. ``verify`` must then exit non-zero
and name what was altered; opening an altered ciphertext must raise the crypto module's typed error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Table, delete, select, text, update

from server import crypto
from server.db import db
from server.models import Appeal, DataKey, Device, Event, Meeting, Opening, Report, School, User
from server.services import journal, keys
from server.services.kinds.appeal import open_contents
from sync.client import Outbox
from sync.events import Role
from tests.clock import school_today
from tests.factory import Factory, anonymous_registration, registration
from tests.operator import run_flask


@dataclass
class Journal:
    """What the fixture built: per school (in creation order), its appeals' and events' uuids."""

    schools: list[uuid.UUID]
    appeals: list[list[uuid.UUID]]
    events: list[list[uuid.UUID]]  # in chain order


@pytest.fixture
def journal_of_two_schools(app: Flask, factory: Factory) -> Journal:
    """Two schools, each with three letters (one anonymous) and three amendments, all synced.

    Each school also has a second, idle pedagogue and tablet, whom an altered row can be attributed to.
    """
    built = Journal(schools=[], appeals=[], events=[])
    for name in ("School No. 1", "School No. 2"):
        school = factory.school(name)
        device = factory.device(school=school)
        factory.device(school=school)
        outbox = Outbox()
        appeals = [str(uuid.uuid4()) for _ in range(3)]
        outbox.add("appeal.registered", appeals[0], registration())
        outbox.add("appeal.registered", appeals[1], anonymous_registration(category="psychological_help"))
        outbox.add("appeal.registered", appeals[2], registration(urgent=True, text="Толук текст."))
        outbox.add(
            "appeal.amended",
            appeals[0],
            {"changes": {"summary": "Исправлено.", "applicant": {"grade": "8А"}}, "reason": "Опечатка."},
            1,
        )
        outbox.add("appeal.amended", appeals[0], {"changes": {"category": "violence_or_cruelty"}, "reason": "R."}, 2)
        outbox.add("appeal.amended", appeals[1], {"changes": {"urgent": True}, "reason": "Срочно."}, 1)
        outbox.flush(device)
        assert outbox.needs_attention == [] and len(outbox.acknowledged) == 6
        built.schools.append(school.uuid)
        built.appeals.append([uuid.UUID(a) for a in appeals])
        with app.app_context():
            rows = db.session.scalars(select(Event.uuid).where(Event.school_id == school.id).order_by(Event.position))
            built.events.append(list(rows))
    return built


def verify(runner: FlaskCliRunner) -> tuple[int, str]:
    result = runner.invoke(args=["verify"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def tamper(app: Flask, table: Table, row_id: int, **values: Any) -> None:
    """UPDATE one row with plain SQL, past every service and model hook."""
    with app.app_context():
        db.session.execute(update(table).where(table.c.id == row_id).values(**values))
        db.session.commit()


def flip(value: bytes, index: int | None = None) -> bytes:
    """The same bytes with one bit changed (by default in the middle)."""
    at = len(value) // 2 if index is None else index
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


def other_hex(digest: str) -> str:
    """The same hex digest with its last digit changed."""
    return digest[:-1] + ("1" if digest[-1] == "0" else "0")


def _row(app: Flask, model: Any, key: uuid.UUID) -> dict[str, Any]:
    """A row's stored values, read with plain SQL."""
    table = model.__table__
    with app.app_context():
        found = db.session.execute(select(table).where(table.c.uuid == key)).mappings().one()
        db.session.remove()
    return dict(found)


def test_intact_journal_verifies(journal_of_two_schools: Journal, runner: FlaskCliRunner) -> None:
    code, output = verify(runner)
    assert code == 0, output
    assert "OK" in output
    assert "BROKEN" not in output


def test_empty_database_verifies(runner: FlaskCliRunner) -> None:
    assert verify(runner)[0] == 0


def _idle(app: Flask, model: type[Device] | type[User], school_uuid: uuid.UUID) -> int:
    """The school's device or user that recorded no event: someone else to pin an entry on."""
    with app.app_context():
        column = Event.device_id if model is Device else Event.user_id
        return int(
            db.session.scalars(
                select(model.id)
                .join(School, model.school_id == School.id)
                .where(School.uuid == school_uuid, model.id.not_in(select(column)))
            ).one()
        )


# Each alteration of an event row: (stored row, app, journal) -> the new column values.
EVENT_ALTERATIONS: dict[str, Callable[[dict[str, Any], Flask, Journal], dict[str, Any]]] = {
    "meta": lambda row, _a, _j: {"meta": {**row["meta"], "urgent": not row["meta"].get("urgent")}},
    "meta-base-version": lambda row, _a, _j: {
        "meta": {**row["meta"], "base_version": (row["meta"].get("base_version") or 0) + 5}
    },
    "type": lambda row, _a, _j: {
        "type": "appeal.amended" if row["type"] == "appeal.registered" else "appeal.registered"
    },
    "recorded_at": lambda row, _a, _j: {"recorded_at": row["recorded_at"] + dt.timedelta(seconds=1)},
    "recorded_at-microsecond": lambda row, _a, _j: {"recorded_at": row["recorded_at"] + dt.timedelta(microseconds=1)},
    "seq": lambda row, _a, _j: {"seq": row["seq"] + 1000},
    "prev_hash": lambda row, _a, _j: {"prev_hash": other_hex(row["prev_hash"])},
    "hash": lambda row, _a, _j: {"hash": other_hex(row["hash"])},
    "sealed-byte": lambda row, _a, _j: {"sealed": flip(row["sealed"])},
    "sealed-tag": lambda row, _a, _j: {"sealed": flip(row["sealed"], -1)},
    "sealed-truncated": lambda row, _a, _j: {"sealed": row["sealed"][:-1]},
    "appeal": lambda row, app, built: {
        "appeal_id": _appeal_id(app, next(a for a in built.appeals[1] if _appeal_id(app, a) != row["appeal_id"]))
    },
    "device": lambda row, app, built: {"device_id": _idle(app, Device, built.schools[1])},
    "user": lambda row, app, built: {"user_id": _idle(app, User, built.schools[1])},
}


def _appeal_id(app: Flask, key: uuid.UUID) -> int:
    return int(_row(app, Appeal, key)["id"])


# Each alteration is tried on one event; the events taken cycle through the chain's first, a middle
# one (the first amendment) and its last, so that every place in the chain is covered without a cross product.
EVENT_CASES = [
    pytest.param(name, where, id=f"{name}-{label}")
    for name, (where, label) in zip(
        EVENT_ALTERATIONS, itertools.cycle([(0, "first"), (3, "middle"), (-1, "last")]), strict=False
    )
]


@pytest.mark.parametrize(("alteration", "where"), EVENT_CASES)
def test_altered_event_is_named(
    app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner, alteration: str, where: int
) -> None:
    """Any column of a stored event changed (second school, so the first verifies clean before it) is
    reported, naming that event and no other."""
    built = journal_of_two_schools
    target = built.events[1][where]
    row = _row(app, Event, target)
    tamper(app, Event.__table__, row["id"], **EVENT_ALTERATIONS[alteration](row, app, built))
    code, output = verify(runner)
    assert code != 0
    assert f"event {target}" in output, output
    others = [e for school in built.events for e in school if e != target]
    assert not any(str(e) in output for e in others), output


def test_altered_event_in_first_school_is_named(
    app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner
) -> None:
    target = journal_of_two_schools.events[0][2]
    row = _row(app, Event, target)
    tamper(app, Event.__table__, row["id"], meta={**row["meta"], "category": "other"})
    code, output = verify(runner)
    assert code != 0
    assert f"event {target}" in output
    assert str(journal_of_two_schools.schools[0]) in output


@pytest.mark.parametrize("where", [0, 2, -1], ids=["first", "middle", "last"])
def test_deleted_event_is_caught(
    app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner, where: int
) -> None:
    """An event torn out of the chain (plain DELETE; nothing refers to events) breaks verify."""
    events = journal_of_two_schools.events[1]
    row = _row(app, Event, events[where])
    with app.app_context():
        db.session.execute(delete(Event.__table__).where(Event.__table__.c.id == row["id"]))
        db.session.commit()
    code, output = verify(runner)
    assert code != 0
    if where == -1:
        assert "chain head" in output
    else:
        # The event after the gap is the first that does not fit.
        assert f"event {events[where + 1]}" in output
        assert "missing" in output


def test_moved_event_position_is_caught(app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner) -> None:
    events = journal_of_two_schools.events[1]
    row = _row(app, Event, events[1])
    tamper(app, Event.__table__, row["id"], position=row["position"] + 100)
    code, output = verify(runner)
    assert code != 0
    assert f"event {events[2]}" in output  # now found where events[1] should be


def test_school_chain_head_is_checked(app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner) -> None:
    """Rewriting the recorded head (say, to hide the last events) is caught."""
    with app.app_context():
        school = db.session.scalars(select(School).where(School.uuid == journal_of_two_schools.schools[0])).one()
        school_id, head = school.id, school.chain_head
    tamper(app, School.__table__, school_id, chain_head=other_hex(head))
    code, output = verify(runner)
    assert code != 0
    assert "chain head" in output


# Each alteration of a journal row (the appeals projection): (stored row, app, journal) -> new values.
APPEAL_ALTERATIONS: dict[str, Callable[[dict[str, Any], Flask, Journal], dict[str, Any]]] = {
    "receipt_digest": lambda row, _a, _j: {"receipt_digest": "0" * 64},  # a code the letter was never given
    "category": lambda row, _a, _j: {"category": "other" if row["category"] != "other" else "bullying"},
    "urgent": lambda row, _a, _j: {"urgent": not row["urgent"]},
    "anonymous": lambda row, _a, _j: {"anonymous": not row["anonymous"]},
    "applicant_role": lambda row, _a, _j: {"applicant_role": "parent"},
    "received_on": lambda row, _a, _j: {"received_on": row["received_on"] - dt.timedelta(days=1)},
    "opening_id": lambda row, _a, _j: {"opening_id": uuid.uuid4()},
    "status": lambda row, _a, _j: {"status": "closed"},
    "version": lambda row, _a, _j: {"version": row["version"] + 1},
    "contents-byte": lambda row, _a, _j: {"contents": flip(row["contents"])},
    "contents-truncated": lambda row, _a, _j: {"contents": row["contents"][:20]},
    "contents-swapped": lambda row, app, built: {
        "contents": _row(app, Appeal, next(a for a in built.appeals[1] if a != row["uuid"]))["contents"]
    },
    "data_key_id": lambda row, app, built: {
        "data_key_id": _row(app, Appeal, next(a for a in built.appeals[1] if a != row["uuid"]))["data_key_id"]
    },
    "registered_by": lambda row, app, built: {"registered_by_id": _idle(app, User, built.schools[1])},
    "registered_at": lambda row, _a, _j: {"registered_at": row["registered_at"] - dt.timedelta(days=3)},
}


# Alternately a signed letter amended twice and an anonymous one amended once.
APPEAL_CASES = [
    pytest.param(name, which, id=f"{name}-{label}")
    for name, (which, label) in zip(
        APPEAL_ALTERATIONS, itertools.cycle([(0, "amended-twice"), (1, "anonymous")]), strict=False
    )
]


@pytest.mark.parametrize(("alteration", "which"), APPEAL_CASES)
def test_altered_journal_row_is_named(
    app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner, alteration: str, which: int
) -> None:
    """A journal row that no longer matches its events, or whose ciphertext does not open, is named."""
    target = journal_of_two_schools.appeals[1][which]
    row = _row(app, Appeal, target)
    tamper(app, Appeal.__table__, row["id"], **APPEAL_ALTERATIONS[alteration](row, app, journal_of_two_schools))
    code, output = verify(runner)
    assert code != 0
    assert f"appeal {target}" in output, output


def test_a_receipt_digest_wiped_or_moved_is_named(app: Flask, factory: Factory, runner: FlaskCliRunner) -> None:
    """A letter whose code's digest is gone would let a second letter take its code; one carrying another
    letter's digest would hide its own: both differ from the code the events give, and are named."""
    school = factory.school()
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(pedagogue, factory.register(pedagogue, receipt_code="K7M2QX"), receipt_code="AB12CD")
    with app.app_context():
        first, second = db.session.execute(
            select(Appeal.id, Appeal.uuid, Appeal.receipt_digest)
            .where(Appeal.school_id == school.id)
            .order_by(Appeal.serial_no)
        ).all()
    assert first.receipt_digest and second.receipt_digest and verify(runner)[0] == 0
    for digest in (None, second.receipt_digest):
        tamper(app, Appeal.__table__, first.id, receipt_digest=digest)
        code, output = verify(runner)
        assert code != 0 and f"appeal {first.uuid}" in output
        assert "K7M2QX" not in output and "AB12CD" not in output


def _data_key_row(app: Flask, appeal: uuid.UUID) -> int:
    return int(_row(app, Appeal, appeal)["data_key_id"])


@pytest.mark.parametrize(
    "alteration",
    [
        {"wrapped": b"\x00" * 60},
        {"owner": uuid.uuid4()},
        {"key_id": "0" * 16},
    ],
    ids=["wrapped", "owner", "key_id"],
)
def test_altered_data_key_is_named(
    app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner, alteration: dict[str, Any]
) -> None:
    target = journal_of_two_schools.appeals[0][2]
    tamper(app, DataKey.__table__, _data_key_row(app, target), **alteration)
    code, output = verify(runner)
    assert code != 0
    assert f"appeal {target}" in output


def test_altered_wrapped_key_flip_is_named(app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner) -> None:
    target = journal_of_two_schools.appeals[1][0]
    key_row = _data_key_row(app, target)
    with app.app_context():
        wrapped = db.session.get_one(DataKey, key_row).wrapped
    tamper(app, DataKey.__table__, key_row, wrapped=flip(wrapped))
    code, output = verify(runner)
    assert code != 0
    assert f"appeal {target}" in output
    assert "UnwrapFailed" in output


def test_changed_serial_number_is_caught(app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner) -> None:
    """A serial number moved out of 1..N (a gap in the numbered journal) fails verify."""
    row = _row(app, Appeal, journal_of_two_schools.appeals[1][1])
    tamper(app, Appeal.__table__, row["id"], serial_no=row["serial_no"] + 10)
    code, output = verify(runner)
    assert code != 0
    assert "serial" in output


def test_changed_school_year_is_caught(app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner) -> None:
    row = _row(app, Appeal, journal_of_two_schools.appeals[0][0])
    tamper(app, Appeal.__table__, row["id"], school_year=row["school_year"] - 1)
    assert verify(runner)[0] != 0


def test_swapped_serial_numbers_are_caught(app: Flask, journal_of_two_schools: Journal, runner: FlaskCliRunner) -> None:
    """Two letters exchanging their numbers rewrite the numbered journal, though 1..N still holds."""
    first, second = (_row(app, Appeal, a) for a in journal_of_two_schools.appeals[1][:2])
    # Through a free number, so the (school, year, serial) unique constraint never sees two alike.
    tamper(app, Appeal.__table__, first["id"], serial_no=1000)
    tamper(app, Appeal.__table__, second["id"], serial_no=first["serial_no"])
    tamper(app, Appeal.__table__, first["id"], serial_no=second["serial_no"])
    code, output = verify(runner)
    assert code != 0, output


# The typed errors: opening an altered ciphertext in the app raises the crypto module's own exception.


def _appeal_and_school(appeal: uuid.UUID) -> tuple[Appeal, School]:
    row = db.session.scalars(select(Appeal).where(Appeal.uuid == appeal)).one()
    return row, row.school


def test_altered_contents_raise_decryption_failed(app: Flask, journal_of_two_schools: Journal) -> None:
    target = journal_of_two_schools.appeals[0][0]
    row = _row(app, Appeal, target)
    tamper(app, Appeal.__table__, row["id"], contents=flip(row["contents"]))
    with app.app_context():
        appeal, school = _appeal_and_school(target)
        with pytest.raises(crypto.DecryptionFailed):
            open_contents(appeal, school)
        # The data key itself is intact: only the altered field fails.
        assert len(keys.open_data_key(appeal.data_key, school)) == crypto.KEY_BYTES


def test_moved_contents_raise_decryption_failed(app: Flask, journal_of_two_schools: Journal) -> None:
    """A ciphertext copied into another row does not open there, even though both rows' keys are valid."""
    source, target = journal_of_two_schools.appeals[0][:2]
    tamper(app, Appeal.__table__, _row(app, Appeal, target)["id"], contents=_row(app, Appeal, source)["contents"])
    with app.app_context():
        appeal, school = _appeal_and_school(target)
        with pytest.raises(crypto.DecryptionFailed):
            open_contents(appeal, school)


def test_altered_event_ciphertext_raises_decryption_failed(app: Flask, journal_of_two_schools: Journal) -> None:
    target = journal_of_two_schools.events[1][3]  # the first amendment
    row = _row(app, Event, target)
    tamper(app, Event.__table__, row["id"], sealed=flip(row["sealed"]))
    with app.app_context():
        event = db.session.scalars(select(Event).where(Event.uuid == target)).one()
        assert event.appeal is not None
        school = event.appeal.school
        data_key = keys.open_data_key(event.appeal.data_key, school)
        with pytest.raises(crypto.DecryptionFailed):
            journal.event_data(event, school, data_key)


def test_altered_wrapped_key_raises_unwrap_failed(app: Flask, journal_of_two_schools: Journal) -> None:
    target = journal_of_two_schools.appeals[1][2]
    key_row = _data_key_row(app, target)
    with app.app_context():
        wrapped = db.session.get_one(DataKey, key_row).wrapped
    tamper(app, DataKey.__table__, key_row, wrapped=flip(wrapped, 0))
    with app.app_context():
        appeal, school = _appeal_and_school(target)
        with pytest.raises(crypto.UnwrapFailed):
            keys.open_data_key(appeal.data_key, school)
        with pytest.raises(crypto.UnwrapFailed):
            open_contents(appeal, school)


def test_unknown_key_id_raises(app: Flask, journal_of_two_schools: Journal) -> None:
    target = journal_of_two_schools.appeals[1][2]
    tamper(app, DataKey.__table__, _data_key_row(app, target), key_id="f" * 16)
    with app.app_context():
        appeal, school = _appeal_and_school(target)
        with pytest.raises(crypto.UnknownKeyId):
            open_contents(appeal, school)


def test_flask_verify_command_line(app: Flask, instance: Path, journal_of_two_schools: Journal) -> None:
    """``flask --app wsgi verify`` as an operator runs it: 0 on the intact journal, 1 naming the altered event."""
    intact = run_flask(instance, "verify")
    assert intact.returncode == 0, intact.stderr
    target = journal_of_two_schools.events[0][4]
    row = _row(app, Event, target)
    tamper(app, Event.__table__, row["id"], sealed=flip(row["sealed"]))
    broken = run_flask(instance, "verify")
    assert broken.returncode == 1
    assert f"event {target}" in broken.stderr
    assert "Traceback" not in broken.stderr


# --- The workflow's records: openings (acts), meetings, and the case work's readable columns ---------------


@pytest.fixture
def workflow(app: Flask, factory: Factory) -> dict[str, uuid.UUID]:
    """One school's act acknowledged by the director, a meeting, a letter decided on and answered, and a
    month's information presented."""
    school = factory.school()
    pedagogue, director = factory.device("pedagogue", school), factory.device("director", school)
    outbox, today = Outbox(), school_today().isoformat()
    opening = outbox.add(
        "opening.recorded",
        None,
        {
            "opened_at": dt.datetime.now(dt.UTC).isoformat(),
            "members": [{"name": "А. Ж.", "position": "педагог"}],
            "letters_count": 1,
            "seal": "intact",
            "remarks": "Бүтүн.",
        },
    )
    appeal = str(uuid.uuid4())
    outbox.add("appeal.registered", appeal, registration(received_on=today))
    present = [{"name": f"Мүчө {n}", "position": "комиссия", "confirmed": True} for n in range(3)]
    meeting = outbox.add("meeting.recorded", None, {"held_on": today, "members_present": present})
    decision = {
        "meeting_id": meeting["id"],
        "decision": "Сүйлөшүү.",
        "official": {"name": "Б. О.", "position": "орун басар"},
    }
    outbox.add("appeal.decided", appeal, decision, 1)
    outbox.add(
        "appeal.answered", appeal, {"answered_on": today, "way": "in_person", "kind": "answer", "text": "Жооп."}, 2
    )
    outbox.add("appeal.referred", appeal, {"referred_on": today, "authority": "juvenile_inspector"}, 3)
    measure = {"taken_on": today, "kind": "material_help", "description": "Китептер.", "taken_by": "Б. О."}
    outbox.add("appeal.measure_recorded", appeal, measure, 4)
    report = outbox.add("report.presented", None, {"month": "2025-03"})
    outbox.flush(pedagogue)
    acknowledgement = Outbox()
    acknowledgement.add("opening.acknowledged", None, {"opening_id": opening["id"]})
    acknowledgement.flush(director)
    assert outbox.needs_attention == acknowledgement.needs_attention == []
    return {
        "opening": uuid.UUID(opening["id"]),
        "meeting": uuid.UUID(meeting["id"]),
        "appeal": uuid.UUID(appeal),
        "report": uuid.UUID(report["id"]),
    }


def test_intact_workflow_verifies(app: Flask, workflow: dict[str, uuid.UUID], runner: FlaskCliRunner) -> None:
    code, output = verify(runner)
    assert code == 0, output
    assert _row(app, Appeal, workflow["appeal"])["case_marks"] == "|!||material_help|"  # what the figures count


@pytest.mark.parametrize(
    ("model", "key", "change"),
    [
        (Opening, "opening", lambda row: {"record": {**row["record"], "letters_count": 7}}),
        (Opening, "opening", lambda row: {"acknowledged_at": None}),
        (Opening, "opening", lambda row: {"opened_at": row["opened_at"] - dt.timedelta(days=1)}),
        (Opening, "opening", lambda row: {"remarks": flip(row["remarks"])}),
        (Meeting, "meeting", lambda row: {"held_on": row["held_on"] - dt.timedelta(days=1)}),
        (
            Meeting,
            "meeting",
            lambda row: {"record": {**row["record"], "members_present": row["record"]["members_present"][:2]}},
        ),
        (Report, "report", lambda row: {"month": "2025-02"}),
        (Report, "report", lambda row: {"recorded_at": row["recorded_at"] - dt.timedelta(hours=1)}),
        (Appeal, "appeal", lambda row: {"answered_on": None}),
        (Appeal, "appeal", lambda row: {"status": "closed"}),
        (Appeal, "appeal", lambda row: {"case_marks": row["case_marks"].replace("material_help", "moral_help")}),
        (Appeal, "appeal", lambda row: {"case_marks": None}),
    ],
    ids=[
        "act-letters",
        "act-unacknowledged",
        "act-time",
        "act-remarks",
        "meeting-date",
        "meeting-members",
        "report-month",
        "report-time",
        "answer-date",
        "status",
        "case-work-kind",
        "case-work-gone",
    ],
)
def test_altered_workflow_record_is_named(
    app: Flask, workflow: dict[str, uuid.UUID], runner: FlaskCliRunner, model: Any, key: str, change: Any
) -> None:
    row = _row(app, model, workflow[key])
    tamper(app, model.__table__, row["id"], **change(row))
    code, output = verify(runner)
    assert code == 1, output
    assert str(workflow[key]) in output


@pytest.mark.parametrize(("model", "key"), [(Opening, "opening"), (Meeting, "meeting"), (Report, "report")])
def test_deleted_record_is_caught(
    app: Flask, workflow: dict[str, uuid.UUID], runner: FlaskCliRunner, model: Any, key: str
) -> None:
    """An act, a meeting or a report deleted from its table: its events still name it."""
    with app.app_context():
        db.session.execute(delete(model.__table__).where(model.__table__.c.uuid == workflow[key]))
        db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"record {workflow[key]}: its events name a record that has no row" in output


def test_migration_0009_fills_in_the_case_work_of_letters_recorded_before_it(
    app: Flask, workflow: dict[str, uuid.UUID], runner: FlaskCliRunner
) -> None:
    """Down to 0008 (no marks on the rows, the figures' index on events) and up again: the migration makes
    each letter's marks from its events, the very ones the journal writes, and verify agrees."""
    from sqlalchemy import inspect

    written = _row(app, Appeal, workflow["appeal"])["case_marks"]
    down = runner.invoke(args=["db", "downgrade", "0008"])
    assert down.exit_code == 0, (down.output, down.exception)
    with app.app_context():
        db.session.remove()
        assert "case_marks" not in {column["name"] for column in inspect(db.engine).get_columns("appeals")}
        assert "ix_events_case_work" in {index["name"] for index in inspect(db.engine).get_indexes("events")}
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, (up.output, up.exception)
    assert _row(app, Appeal, workflow["appeal"])["case_marks"] == written == "|!||material_help|"
    code, output = verify(runner)
    assert code == 0, output


def test_migration_0010_renames_presentations_to_reports_keeping_their_rows(
    app: Flask, workflow: dict[str, uuid.UUID], runner: FlaskCliRunner
) -> None:
    """Down to 0009 (the table and its names were ``presentations``) and up again on a populated database:
    the report's row is kept, every name is the models' (which a new report's insert and the drift check
    rely on), and verify agrees."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    written = _row(app, Report, workflow["report"])
    down = runner.invoke(args=["db", "downgrade", "0009"])
    assert down.exit_code == 0, (down.output, down.exception)
    with app.app_context():
        db.session.remove()
        tables = set(inspect(db.engine).get_table_names())
        assert "presentations" in tables and "reports" not in tables
        assert "ix_presentations_school_change" in {i["name"] for i in inspect(db.engine).get_indexes("presentations")}
        old = db.session.execute(text("SELECT uuid, month FROM presentations")).one()
        assert (uuid.UUID(str(old.uuid)), old.month) == (workflow["report"], "2025-03")
        db.session.remove()
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, (up.output, up.exception)
    assert _row(app, Report, workflow["report"]) == written
    with app.app_context():
        db.session.remove()
        assert "presentations" not in set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
    code, output = verify(runner)
    assert code == 0, output
