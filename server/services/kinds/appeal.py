"""Appeals: the letters of the journal, registered, corrected and worked on (every ``appeal.*`` event).

An appeal's row is the projection of its events, kept for queries: the registration's readable metadata
(``row_meta``), its gapless serial number, and everything else sealed under the appeal's own data key
(``open_contents``: the confidential fields and the case work). Its events name it in ``Event.appeal``.

In a pull, contents, the case work's texts and correction reasons go only to readers of letters
(``sync.reads_contents``), and to nobody once the retention period erased them (``erased``); each letter
whose contents a page carries is an entry of the audit trail of reads.

``flask verify`` replays each appeal's events against its row. A case the retention period erased has no
key to open anything with: its row is checked against what its events' readable metadata say, with the key
destroyed, the row blanked and its audit entry there (``server/services/retention.py``). A destroyed key on
a case not recorded as erased is a break, and so are serial numbers that are not 1..N in a school year.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server import crypto
from server.db import db
from server.models import Appeal, Erasure, Event, School, SerialCounter, utcnow
from server.services import deadlines, journal, keys, receipts
from server.services.accounts import Actor
from server.services.kinds.base import Finding, Lookups, PullPage, RecordKind, Rows, difference
from server.services.kinds.meeting import MEETING
from server.services.kinds.opening import OPENING
from sync import rules
from sync.calendar import WorkCalendar
from sync.events import AppealStatus, EventType

CONTENTS_FIELD = "contents"

# A letter's case work as the figures count it (``figures.counts_of_schools``), kept on its row: a mark
# between bars for each referral (``REFERRED``) and then for each measure (its kind), "|!||material_help|".
# Kinds hold no bar, so counting a mark's occurrences counts exactly those; a referral is no kind of
# measure. On the row, a district's count reads it with the letter instead of probing the events of each
# of its 42,000 letters (docs/BENCHMARKS.md).
MARK = "|"
REFERRED = "!"


def row_meta(appeal: Appeal) -> dict[str, Any]:
    return {
        "received_on": appeal.received_on.isoformat(),
        "opening_id": str(appeal.opening_id) if appeal.opening_id else None,
        "category": appeal.category,
        "urgent": appeal.urgent,
        "anonymous": appeal.anonymous,
        "applicant_role": appeal.applicant_role,
    }


def open_contents(appeal: Appeal, school: School, data_key: bytes | None = None) -> dict[str, Any]:
    """The sealed part of a journal row: the registration's confidential fields and the case work."""
    key = data_key if data_key is not None else keys.open_data_key(appeal.data_key, school)
    contents: dict[str, Any] = crypto.open_json(
        key, appeal.contents, str(school.uuid), str(appeal.uuid), CONTENTS_FIELD
    )
    return contents


def state_of(appeal: Appeal, school: School, data_key: bytes | None = None) -> dict[str, Any]:
    """The case as the rules see it, decrypted."""
    contents = open_contents(appeal, school, data_key)
    case = contents.pop("case")
    registration = rules.join_registration(row_meta(appeal), contents)
    return {"status": appeal.status, "version": appeal.version, "registration": registration, "case": case}


def case_marks(referrals: int, measure_kinds: Iterable[str]) -> str | None:
    """The case work's marks (see ``MARK``): ``referrals`` referrals, then the measures' kinds in order."""
    return "".join(MARK + mark + MARK for mark in [REFERRED] * referrals + list(measure_kinds)) or None


def _write_projection(appeal: Appeal, school: School, data_key: bytes, state: dict[str, Any], now: dt.datetime) -> None:
    meta, contents = rules.split_registration(state["registration"])
    appeal.received_on = dt.date.fromisoformat(meta["received_on"])
    appeal.opening_id = uuid.UUID(meta["opening_id"]) if meta["opening_id"] else None
    appeal.category = meta["category"]
    appeal.urgent = meta["urgent"]
    appeal.anonymous = meta["anonymous"]
    appeal.applicant_role = meta["applicant_role"]
    sealed = {**contents, "case": state["case"]}
    appeal.contents = crypto.seal_json(data_key, sealed, str(school.uuid), str(appeal.uuid), CONTENTS_FIELD)
    appeal.status = state["status"]
    appeal.version = state["version"]
    appeal.answered_on = rules.answered_on(state)
    case = state["case"]
    appeal.case_marks = case_marks(len(case["referrals"]), (measure["kind"] for measure in case["measures"]))
    closed = state["case"]["closed"]
    appeal.closed_on = dt.date.fromisoformat(closed["closed_on"]) if closed else None
    appeal.updated_at = now
    appeal.change_no = journal.next_change_no(school)


def _target(mutation: dict[str, Any]) -> uuid.UUID:
    appeal_id: uuid.UUID = mutation["appeal_id"]
    return appeal_id


def _opening_named(mutation: dict[str, Any]) -> uuid.UUID | None:
    """The opening a registration, or an amendment of it, says the letter was taken out at."""
    if mutation["type"] is EventType.APPEAL_REGISTERED:
        named = mutation["data"].get("opening_id")
    elif mutation["type"] is EventType.APPEAL_AMENDED:
        named = mutation["data"]["changes"].get("opening_id")
    else:
        return None
    return uuid.UUID(named) if named else None


def _named(mutation: dict[str, Any]) -> Iterable[tuple[RecordKind[Any], uuid.UUID]]:
    """The appeal itself, and the opening its letter was taken out at."""
    yield APPEAL, _target(mutation)
    if (opening_id := _opening_named(mutation)) is not None:
        yield OPENING, opening_id


def _context(mutation: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """What the rules need from outside the case: the meeting a decision names, the opening a letter names."""
    if mutation["type"] is EventType.APPEAL_DECIDED:
        meeting = lookups.find(MEETING, uuid.UUID(mutation["data"]["meeting_id"]))
        return {"meetings": {str(meeting.uuid): meeting.record} if meeting else {}}
    if mutation["type"] in (EventType.APPEAL_REGISTERED, EventType.APPEAL_AMENDED):
        # The opening the letter (as registered, or as corrected) says it was taken out at.
        if mutation["type"] is EventType.APPEAL_REGISTERED or "opening_id" in mutation["data"]["changes"]:
            named = _opening_named(mutation)
        else:
            appeal = lookups.find(APPEAL, _target(mutation))
            named = appeal.opening_id if appeal is not None else None
        opening = lookups.find(OPENING, named) if named else None
        return {"openings": {str(opening.uuid): opening.record} if opening else {}}
    return {}


def _record(actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups) -> Appeal:
    event_type: EventType = mutation["type"]
    appeal = lookups.find(APPEAL, _target(mutation))
    # Another school's case: a registration is refused like any taken id; other events simply find nothing.
    if (
        appeal is None
        and event_type is EventType.APPEAL_REGISTERED
        and lookups.taken_elsewhere(APPEAL, _target(mutation))
    ):
        raise rules.Refusal("appeal_exists", "An appeal with this id is registered already.")
    if appeal is not None and appeal.erased_at is not None:
        # The retention period destroyed its key: there is no case left to work on or correct.
        raise rules.Refusal("appeal_erased", "The contents of this case were erased after its retention period.")
    data_key = keys.open_data_key(appeal.data_key, school) if appeal is not None else None
    state = state_of(appeal, school, data_key) if appeal is not None else None
    context = _context(mutation, lookups)
    new_state = rules.evolve(state, event_type, mutation["base_version"], mutation["data"], today, context)
    # One slip, one letter: a code given now must be no other letter's (refused before anything changes).
    receipt_digest = appeal.receipt_digest if appeal is not None else None
    corrects_code = event_type is EventType.APPEAL_AMENDED and "receipt_code" in mutation["data"]["changes"]
    if event_type is EventType.APPEAL_REGISTERED or corrects_code:
        code = new_state["registration"]["receipt_code"]
        receipt_digest = receipts.claim(school, _target(mutation), code)
    now = utcnow()
    if appeal is None:
        key_row, data_key = keys.create_data_key(school, _target(mutation))
        year = rules.school_year(dt.date.fromisoformat(new_state["registration"]["received_on"]))
        appeal = Appeal(
            uuid=_target(mutation),
            school_id=school.id,
            data_key=key_row,
            school_year=year,
            serial_no=journal.next_serial(school, year),
            registered_by_id=actor.user.id,
            registered_at=now,
        )
        db.session.add(appeal)
        lookups.created(APPEAL, appeal)
    assert data_key is not None
    appeal.receipt_digest = receipt_digest
    _write_projection(appeal, school, data_key, new_state, now)
    journal.append_event(school, actor, mutation, now, appeal=appeal, data_key=data_key)
    return appeal


# The registration's readable metadata a history entry shows every role as its ``facts``.
_REGISTRATION_FACTS = ("received_on", "category", "urgent", "anonymous", "applicant_role")


def _facts(event: Event) -> dict[str, Any]:
    """An event's readable fields (spec ``public``; the registration's metadata): shown to every role."""
    if event.type == EventType.APPEAL_REGISTERED:
        return {key: event.meta.get(key) for key in _REGISTRATION_FACTS}
    if event.type == EventType.APPEAL_AMENDED:
        return {}  # a correction's values are sealed; its readable ``fields`` name what it changed
    return {key: value for key, value in event.meta.items() if key != "base_version"}


def _paths(registration: dict[str, Any]) -> dict[str, Any]:
    """A registration's values by the paths corrections name them with ("summary", "applicant.full_name")."""
    flat = {key: value for key, value in registration.items() if key != "applicant"}
    flat.update({f"applicant.{key}": value for key, value in registration["applicant"].items()})
    return flat


def _changes(before: dict[str, Any], after: dict[str, Any], named: Iterable[str]) -> list[dict[str, Any]]:
    """What a correction changed, value by value: the fields it named, and any its merge changed besides
    (marking a letter anonymous removes the name, address and phone)."""
    old, new = _paths(before), _paths(after)
    fields = sorted(set(named) | {path for path in new if new[path] != old.get(path)})
    return [{"field": path, "before": old.get(path), "after": new.get(path)} for path in fields]


def _history(events: list[Event], school: School, data_key: bytes | None) -> list[dict[str, Any]]:
    """An appeal's history, oldest first. Every role sees who, on which device, against which version and
    the readable facts; with a data key (a reader of contents, a case not erased) also each correction's
    reason and values before and after, and each case-work step's data.

    Only what those need is decrypted, once each: the amendments, the registration when there are any (the
    values before the first), and the case-work steps whose data has a sealed part."""
    amended = any(event.type == EventType.APPEAL_AMENDED for event in events)
    registration: dict[str, Any] | None = None
    entries = []
    for version, event in enumerate(events, start=1):
        fields = event.meta.get("fields", [])
        base_version = event.meta.get("base_version")
        entry: dict[str, Any] = {
            "id": event.uuid,
            "type": event.type,
            "recorded_at": event.recorded_at,
            "by": event.user.full_name,
            "by_role": event.user.role,
            "device": {"id": event.device.uuid, "name": event.device.name},
            "base_version": base_version if isinstance(base_version, int) else None,
            "version": version,
            "facts": _facts(event),
            "fields_changed": list(fields) if isinstance(fields, list) else [],
        }
        if data_key is not None:
            if event.type == EventType.APPEAL_REGISTERED:
                if amended:
                    registration = journal.event_data(event, school, data_key)
            elif event.type == EventType.APPEAL_AMENDED:
                data = journal.event_data(event, school, data_key)
                entry["reason"] = data.get("reason")
                if registration is not None:
                    corrected = rules.merge_registration(registration, data["changes"])
                    entry["changes"] = _changes(registration, corrected, entry["fields_changed"])
                    registration = corrected
            else:
                entry["data"] = journal.event_data(event, school, data_key)
        entries.append(entry)
    return entries


def _change(appeal: Appeal, page: PullPage, events: list[Event], calendar: WorkCalendar) -> dict[str, Any]:
    """An appeal as the pull carries it; contents and case work only for a reader allowed to see letters."""
    school = page.school
    due_on = rules.due_on(appeal.status, appeal.received_on, calendar, page.settings["due_in_days"])
    change: dict[str, Any] = {
        "entity": APPEAL.entity,
        "change_no": appeal.change_no,
        "id": appeal.uuid,
        "serial_no": appeal.serial_no,
        "school_year": appeal.school_year,
        "version": appeal.version,
        "status": appeal.status,
        "registered_at": appeal.registered_at,
        "updated_at": appeal.updated_at,
        "received_on": appeal.received_on,
        "opening_id": appeal.opening_id,
        "category": appeal.category,
        "urgent": appeal.urgent,
        "anonymous": appeal.anonymous,
        "applicant_role": appeal.applicant_role,
        "due_on": due_on,
        "answered_on": appeal.answered_on,
        "closed_on": appeal.closed_on,
        "erased": appeal.erased_at is not None,
        "erased_at": appeal.erased_at,
    }
    # An erased case has no key left to open: metadata and history only, for every role.
    data_key = keys.open_data_key(appeal.data_key, school) if page.with_contents and appeal.erased_at is None else None
    if data_key is not None:
        change["contents"] = open_contents(appeal, school, data_key)
        page.reads.append((appeal.id, appeal.uuid))
    change["history"] = _history(events, school, data_key)
    return change


def _render(appeals: list[Appeal], page: PullPage) -> list[dict[str, Any]]:
    history: dict[int, list[Event]] = {appeal.id: [] for appeal in appeals}
    for event in db.session.scalars(
        select(Event)
        .where(Event.appeal_id.in_(history))
        .options(joinedload(Event.user), joinedload(Event.device))
        .order_by(Event.position)
    ):
        history[event.appeal_id or 0].append(event)
    # The page's deadlines are counted on a calendar reaching back to its oldest letter.
    oldest = min((appeal.received_on for appeal in appeals), default=None)
    calendar = deadlines.work_calendar(page.settings, deadlines.calendar_years(page.today, oldest))
    return [_change(appeal, page, history[appeal.id], calendar) for appeal in appeals]


def _expected_row(appeal: Appeal, school: School, data_key: bytes) -> dict[str, Any]:
    """The journal row as the appeal's events say it must be: the case, and every column events fix."""
    events = db.session.scalars(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.position)).all()
    if not events:
        return {}
    case = None
    for event in events:
        base_version = event.meta.get("base_version")
        case = rules.evolve(
            case,
            EventType(event.type),
            base_version if isinstance(base_version, int) else None,
            journal.event_data(event, school, data_key),
            today=None,
        )
    assert case is not None
    return {
        "case": case,
        **_replayed_dates(
            events,
            rules.answered_on(case),
            dt.date.fromisoformat(case["case"]["closed"]["closed_on"]) if case["case"]["closed"] else None,
        ),
    }


def _replayed_dates(events: Sequence[Event], answered_on: dt.date | None, closed_on: dt.date | None) -> dict[str, Any]:
    """The numbers, dates, case work and authorship a row must carry, as its events give them."""
    first = events[0]
    measures = [event.meta.get("kind") for event in events if event.type == EventType.APPEAL_MEASURE_RECORDED]
    return {
        "answered_on": answered_on,
        "closed_on": closed_on,
        "case_marks": case_marks(
            sum(event.type == EventType.APPEAL_REFERRED for event in events), [str(kind) for kind in measures]
        ),
        "serial_no": first.meta.get("serial_no"),
        "school_year": first.meta.get("school_year"),
        "registered_at": first.recorded_at,
        "registered_by_id": first.user_id,
        "updated_at": events[-1].recorded_at,
    }


def _stored_dates(appeal: Appeal) -> dict[str, Any]:
    """The same as ``_replayed_dates``, as the row carries them."""
    return {
        "answered_on": appeal.answered_on,
        "closed_on": appeal.closed_on,
        "case_marks": appeal.case_marks,
        "serial_no": appeal.serial_no,
        "school_year": appeal.school_year,
        "registered_at": appeal.registered_at,
        "registered_by_id": appeal.registered_by_id,
        "updated_at": appeal.updated_at,
    }


def _rows(appeal: Appeal, school: School) -> Rows:
    data_key = keys.open_data_key(appeal.data_key, school)
    stored = {"case": state_of(appeal, school), **_stored_dates(appeal), "receipt_digest": appeal.receipt_digest}
    expected = _expected_row(appeal, school, data_key)
    if expected:
        # The digest that finds the letter by its receipt code is the code's, as the events give it.
        code = expected["case"]["registration"]["receipt_code"]
        expected["receipt_digest"] = receipts.digest(school, code, create=False) if code else None
    return stored, expected


# The row's registration metadata and the name a correction gives each in its readable ``fields``.
_AMENDED_AS = {
    "received_on": "received_on",
    "opening_id": "opening_id",
    "category": "category",
    "urgent": "urgent",
    "anonymous": "applicant.anonymous",
    "applicant_role": "applicant.role",
}


def _erased_rows(appeal: Appeal, school: School) -> Rows:
    """An erased case's row against its events' readable metadata alone: nothing is left to decrypt. The
    registration's metadata is compared where no correction changed it (a correction's values are sealed)."""
    events = list(db.session.scalars(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.position)))
    if not events:  # a row without its registration: a break, named "the record differs … in events"
        return {"events": 0}, {"events": "at least the registration"}
    meta_of: dict[EventType, dict[str, Any]] = {}  # each type's first event: the first answer dates the answer
    for event in events:
        meta_of.setdefault(EventType(event.type), event.meta)
    closed = meta_of.get(EventType.APPEAL_CLOSED)
    answered = meta_of.get(EventType.APPEAL_ANSWERED)
    status = (
        AppealStatus.CLOSED
        if closed
        else AppealStatus.NOT_ACCEPTED
        if EventType.APPEAL_NOT_ACCEPTED in meta_of
        else "not finished"  # only a finished case may be erased
    )
    amended: set[str] = set()
    for event in events:
        if event.type == EventType.APPEAL_AMENDED and isinstance(changed := event.meta.get("fields"), list):
            amended.update(str(name) for name in changed)
    first = events[0]
    registration = {column: first.meta.get(column) for column, name in _AMENDED_AS.items() if name not in amended}
    stored_registration = {column: row_meta(appeal)[column] for column in registration}
    stored = {
        "status": appeal.status,
        "version": appeal.version,
        "registration": stored_registration,
        **_stored_dates(appeal),
        "receipt_digest": appeal.receipt_digest,
    }
    expected = {
        "status": status,
        "version": len(events),  # a registration is version 1, and every later event adds one
        "registration": registration,
        "receipt_digest": None,  # the erasure freed the code
        **_replayed_dates(
            events,
            dt.date.fromisoformat(str(answered["answered_on"])) if answered else None,
            dt.date.fromisoformat(str(closed["closed_on"])) if closed else None,
        ),
    }
    return stored, expected


def _erasure_problem(appeal: Appeal, erasure: Erasure | None) -> str | None:
    """What is wrong with a case's erasure state: the key, the row and the audit entry must agree."""
    key = appeal.data_key
    if appeal.erased_at is None:
        if key.key_id == keys.ERASED or not key.wrapped:
            return "its data key is destroyed, but the case is not recorded as erased"
        if erasure is not None:
            return "an erasure is recorded for it, but the case is not erased"
        return None
    if key.key_id != keys.ERASED or key.wrapped:
        return "it is recorded as erased, but its data key still exists"
    if appeal.contents:
        return "it is recorded as erased, but its row still holds contents"
    if erasure is None or erasure.erased_at != appeal.erased_at:
        return "it is recorded as erased without its audit entry"
    return None


def _verify(school: School) -> Iterator[Finding]:
    serials: dict[int, list[int]] = {}
    erasures = {e.appeal_id: e for e in db.session.scalars(select(Erasure).where(Erasure.school_id == school.id))}
    for appeal in APPEAL.rows_of(school):
        where = f"appeal {appeal.uuid} (No. {appeal.serial_no}/{appeal.school_year})"
        serials.setdefault(appeal.school_year, []).append(appeal.serial_no)
        if problem := _erasure_problem(appeal, erasures.pop(appeal.id, None)):
            yield where, problem
        rows = _erased_rows if appeal.erased_at is not None else _rows
        if problem := difference(partial(rows, appeal, school)):
            yield where, problem
    for erasure in erasures.values():
        yield f"erasure {erasure.id}", "it names no case of this school"
    for year, numbers in sorted(serials.items()):
        counter = db.session.get(SerialCounter, (school.id, year))
        if (
            sorted(numbers) != list(range(1, len(numbers) + 1))
            or counter is None
            or counter.last_serial != len(numbers)
        ):
            yield f"school year {year}", "serial numbers are not 1..N without gaps"


APPEAL: RecordKind[Appeal] = RecordKind(
    entity="appeal",
    model=Appeal,
    record=_record,
    render=_render,
    verify=_verify,
    target=_target,
    named=_named,
    # Each appeal's data key is opened for its contents: in the same query, not one query per appeal.
    load=(joinedload(Appeal.data_key),),
)
