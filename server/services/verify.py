"""Checks that the journal is what was written: every hash chain, every ciphertext, every projection.

The chain catches an altered, removed or inserted event; opening every ciphertext catches altered
contents and keys; replaying each appeal's events catches an altered journal row. A case the retention
period erased has no key to open anything with: its chain links are checked as ever, and its row against
what its events' readable metadata say, with the key destroyed, the row blanked and its audit entry there
(``server/services/retention.py``). A destroyed key on a case not recorded as erased is a break.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server import crypto
from server.db import db
from server.models import Appeal, Erasure, Event, Meeting, Opening, Presentation, Read, School, SerialCounter
from server.services import audit, journal, keys
from sync import rules
from sync.chain import GENESIS, chain_hash
from sync.events import AppealStatus, EventType


@dataclass(frozen=True)
class Break:
    school: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"school {self.school}: {self.where}: {self.problem}"


def _walk(
    school: School,
    links: Iterable[Event] | Iterable[Read],
    record: Callable[[Any, School], dict[str, Any]],
    name: Callable[[Any], str],
    head: tuple[str, int],
) -> Iterator[Break]:
    """One hash chain from GENESIS: positions 1..n without a gap, each link on the one before and on its own
    contents, and the school's recorded head at the last link."""
    prev, position = GENESIS, 0
    for link in links:
        position += 1
        where = name(link)
        if link.position != position:
            yield Break(str(school.uuid), where, f"expected position {position}: an entry is missing")
            return
        if link.prev_hash != prev:
            yield Break(str(school.uuid), where, "does not follow the entry before it")
            return
        if chain_hash(prev, record(link, school)) != link.hash:
            yield Break(str(school.uuid), where, "its contents do not match its hash")
            return
        prev = link.hash
    if head != (prev, position):
        yield Break(str(school.uuid), f"{name(None)} head", "the school's recorded head is not the last entry")


def _chain_breaks(school: School) -> Iterator[Break]:
    """The journal's chain of events."""
    events = db.session.scalars(
        select(Event)
        .where(Event.school_id == school.id)
        .order_by(Event.position)
        .options(joinedload(Event.appeal), joinedload(Event.device), joinedload(Event.user))
    )
    return _walk(
        school,
        events,
        journal.chain_record,
        lambda event: f"event {event.uuid} (position {event.position})" if event else "chain",
        (school.chain_head, school.chain_length),
    )


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
        "case_marks": journal.case_marks(
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


def _stored_row(appeal: Appeal, school: School) -> dict[str, Any]:
    return {"case": journal.state_of(appeal, school), **_stored_dates(appeal)}


def _appeal_rows(appeal: Appeal, school: School) -> tuple[dict[str, Any], dict[str, Any]]:
    data_key = keys.open_data_key(appeal.data_key, school)
    return _stored_row(appeal, school), _expected_row(appeal, school, data_key)


# The row's registration metadata and the name a correction gives each in its readable ``fields``.
_AMENDED_AS = {
    "received_on": "received_on",
    "opening_id": "opening_id",
    "category": "category",
    "urgent": "urgent",
    "anonymous": "applicant.anonymous",
    "applicant_role": "applicant.role",
}


def _erased_rows(appeal: Appeal, school: School) -> tuple[dict[str, Any], dict[str, Any]]:
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
    stored_registration = {column: journal.row_meta(appeal)[column] for column in registration}
    stored = {
        "status": appeal.status,
        "version": appeal.version,
        "registration": stored_registration,
        **_stored_dates(appeal),
    }
    expected = {
        "status": status,
        "version": len(events),  # a registration is version 1, and every later event adds one
        "registration": registration,
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


def _appeal_breaks(school: School) -> Iterator[Break]:
    serials: dict[int, list[int]] = {}
    erasures = {e.appeal_id: e for e in db.session.scalars(select(Erasure).where(Erasure.school_id == school.id))}
    for appeal in db.session.scalars(select(Appeal).where(Appeal.school_id == school.id).order_by(Appeal.id)):
        where = f"appeal {appeal.uuid} (No. {appeal.serial_no}/{appeal.school_year})"
        serials.setdefault(appeal.school_year, []).append(appeal.serial_no)
        if problem := _erasure_problem(appeal, erasures.pop(appeal.id, None)):
            yield Break(str(school.uuid), where, problem)
            return
        rows = _erased_rows if appeal.erased_at is not None else _appeal_rows
        if found := _checked(school, where, partial(rows, appeal, school)):
            yield found
            return
    for erasure in erasures.values():
        yield Break(str(school.uuid), f"erasure {erasure.id}", "it names no case of this school")
        return
    for year, numbers in sorted(serials.items()):
        counter = db.session.get(SerialCounter, (school.id, year))
        if (
            sorted(numbers) != list(range(1, len(numbers) + 1))
            or counter is None
            or counter.last_serial != len(numbers)
        ):
            yield Break(str(school.uuid), f"school year {year}", "serial numbers are not 1..N without gaps")
            return


def _replayed(events: list[Event], school: School, data_key: bytes | None) -> dict[str, Any] | None:
    """An opening's or a meeting's state from its events alone."""
    state = None
    for event in events:
        state = rules.evolve(state, EventType(event.type), None, journal.event_data(event, school, data_key), None)
    return state


def _recorded(events: list[Event], index: int) -> tuple[dt.datetime, int] | tuple[None, None]:
    """When and by whom the ``index``-th event of a record was recorded (None, None without one)."""
    return (events[index].recorded_at, events[index].user_id) if len(events) > index else (None, None)


def _opening_rows(opening: Opening, school: School, events: list[Event]) -> tuple[dict[str, Any], dict[str, Any]]:
    data_key = keys.open_data_key(opening.data_key, school)
    stored = {
        "state": journal.opening_state(opening, school, data_key),
        "opened_at": opening.opened_at,
        "recorded": (opening.recorded_at, opening.recorded_by_id),
        "acknowledged": (opening.acknowledged_at, opening.acknowledged_by_id),
    }
    expected = {
        "state": _replayed(events, school, data_key),
        "opened_at": dt.datetime.fromisoformat(str(events[0].meta["opened_at"])) if events else None,
        "recorded": _recorded(events, 0),
        "acknowledged": _recorded(events, 1),
    }
    return stored, expected


def _meeting_rows(meeting: Meeting, school: School, events: list[Event]) -> tuple[dict[str, Any], dict[str, Any]]:
    stored = {
        "state": journal.meeting_state(meeting),
        "held_on": meeting.held_on,
        "recorded": (meeting.recorded_at, meeting.recorded_by_id),
    }
    expected = {
        "state": _replayed(events, school, None),
        "held_on": dt.date.fromisoformat(str(events[0].meta["held_on"])) if events else None,
        "recorded": _recorded(events, 0),
    }
    return stored, expected


def _subject_events(subject: uuid.UUID) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.subject == subject).order_by(Event.position)))


def _report_rows(
    presentation: Presentation, school: School, events: list[Event]
) -> tuple[dict[str, Any], dict[str, Any]]:
    stored = {
        "state": journal.presentation_state(presentation),
        "recorded": (presentation.recorded_at, presentation.recorded_by_id),
    }
    return stored, {"state": _replayed(events, school, None), "recorded": _recorded(events, 0)}


def _record_breaks(school: School) -> Iterator[Break]:
    """Every opening and meeting must be what its events say, down to who recorded and acknowledged it, and
    every event about one must find its row (a deleted act or meeting is a break too)."""
    subjects = set(
        db.session.scalars(select(Event.subject).where(Event.school_id == school.id, Event.subject.is_not(None)))
    )
    for opening in db.session.scalars(select(Opening).where(Opening.school_id == school.id).order_by(Opening.id)):
        subjects.discard(opening.uuid)
        events = _subject_events(opening.uuid)
        if found := _checked(school, f"opening {opening.uuid}", partial(_opening_rows, opening, school, events)):
            yield found
            return
    for meeting in db.session.scalars(select(Meeting).where(Meeting.school_id == school.id).order_by(Meeting.id)):
        subjects.discard(meeting.uuid)
        events = _subject_events(meeting.uuid)
        if found := _checked(school, f"meeting {meeting.uuid}", partial(_meeting_rows, meeting, school, events)):
            yield found
            return
    for presentation in db.session.scalars(
        select(Presentation).where(Presentation.school_id == school.id).order_by(Presentation.id)
    ):
        subjects.discard(presentation.uuid)
        events = _subject_events(presentation.uuid)
        if found := _checked(
            school, f"report {presentation.uuid}", partial(_report_rows, presentation, school, events)
        ):
            yield found
            return
    for missing in sorted(str(subject) for subject in subjects):
        yield Break(str(school.uuid), f"record {missing}", "its events have no opening or meeting row")
        return


def _checked(school: School, where: str, rows: Callable[[], tuple[dict[str, Any], dict[str, Any]]]) -> Break | None:
    """The first difference between a stored row and its replayed events, or the error replaying them gave."""
    try:
        stored, expected = rows()
    except (crypto.CryptoError, rules.Refusal, rules.Conflict) as exc:
        return Break(str(school.uuid), where, f"{type(exc).__name__}: {exc}")
    return _difference(school, where, stored, expected)


def _difference(school: School, where: str, stored: dict[str, Any], expected: dict[str, Any]) -> Break | None:
    differing = sorted(column for column in stored if stored[column] != expected.get(column))
    if not differing:
        return None
    return Break(str(school.uuid), where, f"the record differs from its events in {', '.join(differing)}")


def _reads_breaks(school: School) -> Iterator[Break]:
    """The audit trail of reads: a chain of its own, from GENESIS to the school's ``reads_head``."""
    reads = db.session.scalars(
        select(Read)
        .where(Read.school_id == school.id)
        .order_by(Read.position)
        .options(joinedload(Read.user), joinedload(Read.device), joinedload(Read.appeal))
    )
    return _walk(
        school,
        reads,
        audit.chain_record,
        lambda read: f"read {read.position}" if read else "reads",
        (school.reads_head, school.reads_length),
    )


def first_break() -> Break | None:
    """The first problem found, school by school, or None when every journal is intact."""
    for school in db.session.scalars(select(School).order_by(School.id)):
        checks = (_chain_breaks(school), _appeal_breaks(school), _record_breaks(school), _reads_breaks(school))
        for found in itertools.chain(*checks):
            return found
    return None
