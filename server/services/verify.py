"""Checks that the journal is what was written: every hash chain, every ciphertext, every projection.

The chain catches an altered, removed or inserted event; opening every ciphertext catches altered
contents and keys; replaying each appeal's events catches an altered journal row.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server import crypto
from server.db import db
from server.models import Appeal, Event, Meeting, Opening, School, SerialCounter
from server.services import journal, keys
from sync import rules
from sync.chain import GENESIS, chain_hash
from sync.events import EventType


@dataclass(frozen=True)
class Break:
    school: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"school {self.school}: {self.where}: {self.problem}"


def _chain_breaks(school: School) -> Iterator[Break]:
    prev, position = GENESIS, 0
    events = db.session.scalars(
        select(Event)
        .where(Event.school_id == school.id)
        .order_by(Event.position)
        .options(joinedload(Event.appeal), joinedload(Event.device), joinedload(Event.user))
    )
    for event in events:
        position += 1
        where = f"event {event.uuid} (position {event.position})"
        if event.position != position:
            yield Break(str(school.uuid), where, f"expected position {position}: an event is missing")
            return
        if event.prev_hash != prev:
            yield Break(str(school.uuid), where, "does not follow the event before it")
            return
        if chain_hash(prev, journal.chain_record(event, school)) != event.hash:
            yield Break(str(school.uuid), where, "its contents do not match its hash")
            return
        prev = event.hash
    if (school.chain_head, school.chain_length) != (prev, position):
        yield Break(str(school.uuid), "chain head", "the school's recorded head is not the last event")


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
    first = events[0]
    return {
        "case": case,
        "answered_on": rules.answered_on(case),
        "closed_on": dt.date.fromisoformat(case["case"]["closed"]["closed_on"]) if case["case"]["closed"] else None,
        "serial_no": first.meta.get("serial_no"),
        "school_year": first.meta.get("school_year"),
        "registered_at": first.recorded_at,
        "registered_by_id": first.user_id,
        "updated_at": events[-1].recorded_at,
    }


def _stored_row(appeal: Appeal, school: School) -> dict[str, Any]:
    return {
        "case": journal.state_of(appeal, school),
        "answered_on": appeal.answered_on,
        "closed_on": appeal.closed_on,
        "serial_no": appeal.serial_no,
        "school_year": appeal.school_year,
        "registered_at": appeal.registered_at,
        "registered_by_id": appeal.registered_by_id,
        "updated_at": appeal.updated_at,
    }


def _appeal_breaks(school: School) -> Iterator[Break]:
    serials: dict[int, list[int]] = {}
    for appeal in db.session.scalars(select(Appeal).where(Appeal.school_id == school.id).order_by(Appeal.id)):
        where = f"appeal {appeal.uuid} (No. {appeal.serial_no}/{appeal.school_year})"
        serials.setdefault(appeal.school_year, []).append(appeal.serial_no)
        try:
            data_key = keys.open_data_key(appeal.data_key, school)
            stored = _stored_row(appeal, school)
            expected = _expected_row(appeal, school, data_key)
        except (crypto.CryptoError, rules.Refusal, rules.Conflict) as exc:
            yield Break(str(school.uuid), where, f"{type(exc).__name__}: {exc}")
            return
        if found := _difference(school, where, stored, expected):
            yield found
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


def _subject_events(record: Opening | Meeting) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.subject == record.uuid).order_by(Event.position)))


def _record_breaks(school: School) -> Iterator[Break]:
    """Every opening and meeting must be what its events say, down to who recorded and acknowledged it."""
    for opening in db.session.scalars(select(Opening).where(Opening.school_id == school.id).order_by(Opening.id)):
        where = f"opening {opening.uuid}"
        events = _subject_events(opening)
        try:
            data_key = keys.open_data_key(opening.data_key, school)
            stored: dict[str, Any] = {
                "state": journal.opening_state(opening, school, data_key),
                "opened_at": opening.opened_at,
                "recorded": (opening.recorded_at, opening.recorded_by_id),
                "acknowledged": (opening.acknowledged_at, opening.acknowledged_by_id),
            }
            expected: dict[str, Any] = {
                "state": _replayed(events, school, data_key),
                "opened_at": dt.datetime.fromisoformat(str(events[0].meta["opened_at"])) if events else None,
                "recorded": (events[0].recorded_at, events[0].user_id) if events else None,
                "acknowledged": (events[1].recorded_at, events[1].user_id) if len(events) > 1 else (None, None),
            }
        except (crypto.CryptoError, rules.Refusal, rules.Conflict) as exc:
            yield Break(str(school.uuid), where, f"{type(exc).__name__}: {exc}")
            return
        if found := _difference(school, where, stored, expected):
            yield found
            return
    for meeting in db.session.scalars(select(Meeting).where(Meeting.school_id == school.id).order_by(Meeting.id)):
        where = f"meeting {meeting.uuid}"
        events = _subject_events(meeting)
        stored_meeting: dict[str, Any] = {
            "state": journal.meeting_state(meeting),
            "held_on": meeting.held_on,
            "recorded": (meeting.recorded_at, meeting.recorded_by_id),
        }
        expected_meeting: dict[str, Any] = {
            "state": _replayed(events, school, None),
            "held_on": dt.date.fromisoformat(str(events[0].meta["held_on"])) if events else None,
            "recorded": (events[0].recorded_at, events[0].user_id) if events else None,
        }
        if found := _difference(school, where, stored_meeting, expected_meeting):
            yield found
            return


def _difference(school: School, where: str, stored: dict[str, Any], expected: dict[str, Any]) -> Break | None:
    differing = sorted(column for column in stored if stored[column] != expected.get(column))
    if not differing:
        return None
    return Break(str(school.uuid), where, f"the record differs from its events in {', '.join(differing)}")


def first_break() -> Break | None:
    """The first problem found, school by school, or None when every journal is intact."""
    for school in db.session.scalars(select(School).order_by(School.id)):
        for found in itertools.chain(_chain_breaks(school), _appeal_breaks(school), _record_breaks(school)):
            return found
    return None
