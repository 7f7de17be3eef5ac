"""The append-only journal: events, the appeals projection, serial numbers and the hash chain.

Every accepted mutation becomes one event, chained to the school's previous one, and updates its
appeal's row in the same transaction. Callers hold the school's lock (``lock_school``) throughout, which
is what makes serial numbers gapless and change numbers grow in commit order.

``record`` refuses (``Refusal``, ``Conflict``) before it changes anything, and does not flush: the caller
decides whether each mutation gets a savepoint and a flush of its own or a whole batch is flushed at once
(``server/services/sync.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server import crypto
from server.db import db
from server.models import Appeal, Event, Meeting, Opening, Presentation, School, SerialCounter, utcnow
from server.services import keys, schools
from server.services.accounts import Actor
from sync import rules
from sync.chain import chain_hash
from sync.events import EventType

CONTENTS_FIELD = "contents"
REMARKS_FIELD = "remarks"

# A letter's case work as the figures count it (``figures.counts_of_schools``), kept on its row: a mark
# between bars for each referral (``REFERRED``) and then for each measure (its kind), "|!||material_help|".
# Kinds hold no bar, so counting a mark's occurrences counts exactly those; a referral is no kind of
# measure. On the row, a district's count reads it with the letter instead of probing the events of each
# of its 42,000 letters (docs/BENCHMARKS.md).
MARK = "|"
REFERRED = "!"

# The fields of each case event that stay readable in the journal: dates, choices from closed lists and
# numbers, which the deadlines and the monthly figures count. Everything else an event carries is sealed.
PUBLIC_FIELDS: dict[EventType, tuple[str, ...]] = {
    EventType.APPEAL_NOT_ACCEPTED: ("decided_on",),
    EventType.APPEAL_DECIDED: ("meeting_id",),
    EventType.APPEAL_REFERRED: ("referred_on", "authority"),
    EventType.APPEAL_FEEDBACK_RECEIVED: ("referral_no", "received_on"),
    EventType.APPEAL_ANSWERED: ("answered_on", "way", "kind"),
    EventType.APPEAL_NOTICE_POSTED: ("answer_no", "posted_on"),
    EventType.APPEAL_NOTICE_REMOVED: ("answer_no", "removed_on"),
    EventType.APPEAL_MEASURE_RECORDED: ("taken_on", "kind"),
    EventType.APPEAL_CLOSED: ("closed_on",),
    EventType.OPENING_RECORDED: ("opened_at", "members", "letters_count", "seal"),
    EventType.OPENING_ACKNOWLEDGED: ("opening_id",),
    EventType.MEETING_RECORDED: ("held_on", "members_present"),
    EventType.REPORT_PRESENTED: ("month",),
}


def lock_school(school_id: int) -> School:
    """The school's row, locked until commit: one writer at a time extends a school's journal."""
    school = db.session.scalars(
        select(School).where(School.id == school_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    return school


def school_zone(school: School) -> ZoneInfo:
    return ZoneInfo(school.timezone)


def school_today(school: School) -> dt.date:
    return dt.datetime.now(school_zone(school)).date()


def next_change_no(school: School) -> int:
    school.last_change_no += 1
    return school.last_change_no


def next_serial(school: School, year: int) -> int:
    counter = db.session.get(SerialCounter, (school.id, year))
    if counter is None:
        counter = SerialCounter(school_id=school.id, school_year=year, last_serial=0)
        db.session.add(counter)
    counter.last_serial += 1
    return counter.last_serial


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_record(event: Event, school: School) -> dict[str, Any]:
    """What the hash chain covers: every stored column of the event, ciphertext included."""
    record: dict[str, Any] = {
        "v": 1,
        "school": str(school.uuid),
        "position": event.position,
        "id": str(event.uuid),
        "type": event.type,
        "appeal": str(event.appeal.uuid) if event.appeal else None,
        "device": str(event.device.uuid),
        "user": str(event.user.uuid),
        "seq": event.seq,
        "recorded_at": utc_text(event.recorded_at),
        "meta": event.meta,
        "sealed": base64.b64encode(event.sealed).decode() if event.sealed is not None else None,
    }
    if event.subject is not None:  # an opening or a meeting; appeal events keep their original record
        record["subject"] = str(event.subject)
    return record


def event_field(event_id: uuid.UUID) -> str:
    return f"event:{event_id}"


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
    appeal.change_no = next_change_no(school)


def _event_parts(mutation: dict[str, Any], appeal: Appeal | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Split an event's data into what stays readable (metadata) and what is sealed (None: nothing)."""
    event_type: EventType = mutation["type"]
    data = mutation["data"]
    if event_type is EventType.APPEAL_REGISTERED:
        assert appeal is not None
        meta, contents = rules.split_registration(data)
        # The number is written into the chain, as ink on the paper page: swapping two is detectable.
        return {**meta, "serial_no": appeal.serial_no, "school_year": appeal.school_year}, contents
    if event_type is EventType.APPEAL_AMENDED:
        changes = data["changes"]
        fields = sorted(
            [k for k in changes if k != "applicant"] + [f"applicant.{k}" for k in changes.get("applicant", {})]
        )
        return {"base_version": mutation["base_version"], "fields": fields}, data
    public = PUBLIC_FIELDS[event_type]
    meta = {key: data[key] for key in public}
    if mutation["base_version"] is not None:
        meta["base_version"] = mutation["base_version"]
    secret = {key: value for key, value in data.items() if key not in public}
    return meta, secret or None


def event_record_id(event: Event) -> str:
    """The record whose data key seals the event: its appeal, or the opening or meeting it is about."""
    return str(event.appeal.uuid if event.appeal is not None else event.subject)


def event_data(event: Event, school: School, data_key: bytes | None) -> dict[str, Any]:
    """The inverse of ``_event_parts``: an event's data as it came over the wire."""
    sealed: dict[str, Any] = {}
    if event.sealed is not None:
        assert data_key is not None
        sealed = crypto.open_json(
            data_key, event.sealed, str(school.uuid), event_record_id(event), event_field(event.uuid)
        )
    if event.type == EventType.APPEAL_REGISTERED:
        return rules.join_registration(event.meta, sealed)
    if event.type == EventType.APPEAL_AMENDED:
        return sealed
    return {**{k: v for k, v in event.meta.items() if k != "base_version"}, **sealed}


def _append_event(
    school: School,
    actor: Actor,
    mutation: dict[str, Any],
    now: dt.datetime,
    *,
    appeal: Appeal | None = None,
    subject: uuid.UUID | None = None,
    data_key: bytes | None = None,
) -> Event:
    meta, secret = _event_parts(mutation, appeal)
    record_id = str(appeal.uuid if appeal is not None else subject)
    sealed = None
    if secret is not None:
        assert data_key is not None
        sealed = crypto.seal_json(data_key, secret, str(school.uuid), record_id, event_field(mutation["id"]))
    event = Event(
        uuid=mutation["id"],
        school_id=school.id,
        position=school.chain_length + 1,
        type=mutation["type"].value,
        appeal=appeal,
        subject=subject,
        device=actor.device,
        user=actor.user,
        seq=mutation["seq"],
        recorded_at=now,
        meta=meta,
        sealed=sealed,
        prev_hash=school.chain_head,
    )
    event.hash = chain_hash(event.prev_hash, chain_record(event, school))
    school.chain_length, school.chain_head = event.position, event.hash
    db.session.add(event)
    return event


class Lookups:
    """The appeals and openings a batch of mutations names, fetched in two queries before the batch runs.

    Asking for them one mutation at a time cost a query each, and every query first flushed the rows of the
    mutations before it: per-row work that dominated a push of 200 letters. Answered from here, and kept
    current as the batch creates records, a batch of registrations runs no query until its one flush.
    Records the batch did not name are looked up in the database as before.
    """

    def __init__(self, school: School, mutations: Iterable[dict[str, Any]], today: dt.date) -> None:
        self.school = school
        self.today = today  # the school's date for the whole batch, as the rules see it
        self.recorded_events: set[uuid.UUID] = set()  # events this batch has recorded
        appeal_ids: set[uuid.UUID] = set()
        opening_ids: set[uuid.UUID] = set()
        self.event_ids: set[uuid.UUID] = set()
        for mutation in mutations:
            self.event_ids.add(mutation["id"])
            if mutation.get("appeal_id") is not None:
                appeal_ids.add(mutation["appeal_id"])
            named = _opening_named(mutation)
            if named is not None:
                opening_ids.add(named)
        # Appeals of any school: a registration under another school's appeal id is refused (_record_appeal).
        self._appeals: dict[uuid.UUID, Appeal | None] = dict.fromkeys(appeal_ids)
        if appeal_ids:
            query = select(Appeal).where(Appeal.uuid.in_(appeal_ids)).options(joinedload(Appeal.data_key))
            self._appeals.update({appeal.uuid: appeal for appeal in db.session.scalars(query)})
        self._openings: dict[uuid.UUID, Opening | None] = dict.fromkeys(opening_ids)
        if opening_ids:
            query_openings = select(Opening).where(Opening.uuid.in_(opening_ids), Opening.school_id == school.id)
            self._openings.update({opening.uuid: opening for opening in db.session.scalars(query_openings)})
        # Event ids already stored: each such mutation is a resend (or another school's id).
        self.stored_events: set[uuid.UUID] = (
            set(db.session.scalars(select(Event.uuid).where(Event.uuid.in_(self.event_ids))))
            if self.event_ids
            else set()
        )

    def appeal(self, appeal_id: uuid.UUID) -> Appeal | None:
        """The school's appeal with this id, as it stands in this batch."""
        if appeal_id not in self._appeals:
            return find_appeal(self.school, appeal_id)
        appeal = self._appeals[appeal_id]
        return appeal if appeal is not None and appeal.school_id == self.school.id else None

    def taken_elsewhere(self, appeal_id: uuid.UUID) -> bool:
        """Whether another school holds an appeal with this id."""
        if appeal_id not in self._appeals:
            return db.session.scalar(select(Appeal.id).where(Appeal.uuid == appeal_id)) is not None
        appeal = self._appeals[appeal_id]
        return appeal is not None and appeal.school_id != self.school.id

    def opening(self, opening_id: uuid.UUID) -> Opening | None:
        if opening_id not in self._openings:
            return find_opening(self.school, opening_id)
        return self._openings[opening_id]

    def created(self, recorded: Recorded) -> None:
        """A record this batch made: later mutations of the batch find it here, not yet in the database."""
        if isinstance(recorded, Appeal):
            self._appeals[recorded.uuid] = recorded
        elif isinstance(recorded, Opening):
            self._openings[recorded.uuid] = recorded

    def forget(self, mutation: dict[str, Any]) -> None:
        """After a savepoint's rollback: what the mutation may have created is gone, so ask the database."""
        self._appeals.pop(mutation.get("appeal_id"), None)  # type: ignore[arg-type]
        self._openings.pop(mutation["id"], None)


def _opening_named(mutation: dict[str, Any]) -> uuid.UUID | None:
    """The opening a registration, or an amendment of it, says the letter was taken out at."""
    if mutation["type"] is EventType.APPEAL_REGISTERED:
        named = mutation["data"].get("opening_id")
    elif mutation["type"] is EventType.APPEAL_AMENDED:
        named = mutation["data"]["changes"].get("opening_id")
    else:
        return None
    return uuid.UUID(named) if named else None


def find_appeal(school: School, appeal_id: uuid.UUID) -> Appeal | None:
    return db.session.scalar(select(Appeal).where(Appeal.uuid == appeal_id, Appeal.school_id == school.id))


def find_opening(school: School, opening_id: uuid.UUID) -> Opening | None:
    return db.session.scalar(select(Opening).where(Opening.uuid == opening_id, Opening.school_id == school.id))


def find_meeting(school: School, meeting_id: uuid.UUID) -> Meeting | None:
    return db.session.scalar(select(Meeting).where(Meeting.uuid == meeting_id, Meeting.school_id == school.id))


def find_presentation(school: School, presentation_id: uuid.UUID) -> Presentation | None:
    return db.session.scalar(
        select(Presentation).where(Presentation.uuid == presentation_id, Presentation.school_id == school.id)
    )


def presentation_state(presentation: Presentation) -> dict[str, Any]:
    return {"version": presentation.version, "report": {"month": presentation.month}}


def opening_state(opening: Opening, school: School, data_key: bytes | None = None) -> dict[str, Any]:
    key = data_key if data_key is not None else keys.open_data_key(opening.data_key, school)
    remarks = crypto.open_json(key, opening.remarks, str(school.uuid), str(opening.uuid), REMARKS_FIELD)
    return {
        "version": opening.version,
        "opening": {**opening.record, REMARKS_FIELD: remarks},
        "acknowledged": opening.acknowledged_at is not None,
    }


def meeting_state(meeting: Meeting) -> dict[str, Any]:
    return {"version": meeting.version, "meeting": meeting.record}


def _context(school: School, mutation: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """What the rules need from outside the record: the school's quorum, the meeting a decision names."""
    if mutation["type"] is EventType.MEETING_RECORDED:
        return {"quorum": schools.settings_of(school)["quorum"]}
    if mutation["type"] is EventType.REPORT_PRESENTED:
        month = mutation["data"]["month"]
        taken = db.session.scalar(
            select(Presentation.id).where(Presentation.school_id == school.id, Presentation.month == month)
        )
        return {"presented": [month] if taken else []}
    if mutation["type"] is EventType.APPEAL_DECIDED:
        meeting = find_meeting(school, uuid.UUID(mutation["data"]["meeting_id"]))
        return {"meetings": {str(meeting.uuid): meeting.record} if meeting else {}}
    if mutation["type"] in (EventType.APPEAL_REGISTERED, EventType.APPEAL_AMENDED):
        # The opening the letter (as registered, or as corrected) says it was taken out at.
        if mutation["type"] is EventType.APPEAL_REGISTERED or "opening_id" in mutation["data"]["changes"]:
            named = _opening_named(mutation)
        else:
            appeal = lookups.appeal(mutation["appeal_id"])
            named = appeal.opening_id if appeal is not None else None
        opening = lookups.opening(named) if named else None
        return {"openings": {str(opening.uuid): opening.record} if opening else {}}
    return {}


def _record_appeal(actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups) -> Appeal:
    event_type: EventType = mutation["type"]
    appeal = lookups.appeal(mutation["appeal_id"])
    # Another school's case: a registration is refused like any taken id; other events simply find nothing.
    if appeal is None and event_type is EventType.APPEAL_REGISTERED and lookups.taken_elsewhere(mutation["appeal_id"]):
        raise rules.Refusal("appeal_exists", "An appeal with this id is registered already.")
    if appeal is not None and appeal.erased_at is not None:
        # The retention period destroyed its key: there is no case left to work on or correct.
        raise rules.Refusal("appeal_erased", "The contents of this case were erased after its retention period.")
    data_key = keys.open_data_key(appeal.data_key, school) if appeal is not None else None
    state = state_of(appeal, school, data_key) if appeal is not None else None
    new_state = rules.evolve(
        state, event_type, mutation["base_version"], mutation["data"], today, _context(school, mutation, lookups)
    )
    now = utcnow()
    if appeal is None:
        key_row, data_key = keys.create_data_key(school, mutation["appeal_id"])
        year = rules.school_year(dt.date.fromisoformat(new_state["registration"]["received_on"]))
        appeal = Appeal(
            uuid=mutation["appeal_id"],
            school_id=school.id,
            data_key=key_row,
            school_year=year,
            serial_no=next_serial(school, year),
            registered_by_id=actor.user.id,
            registered_at=now,
        )
        db.session.add(appeal)
        lookups.created(appeal)
    assert data_key is not None
    _write_projection(appeal, school, data_key, new_state, now)
    _append_event(school, actor, mutation, now, appeal=appeal, data_key=data_key)
    return appeal


def _record_opening(
    actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups
) -> Opening:
    now = utcnow()
    if mutation["type"] is EventType.OPENING_RECORDED:
        state = rules.evolve(None, mutation["type"], None, mutation["data"], today)
        data = state["opening"]
        key_row, data_key = keys.create_data_key(school, mutation["id"])
        opening = Opening(
            uuid=mutation["id"],
            school_id=school.id,
            data_key=key_row,
            opened_at=dt.datetime.fromisoformat(data["opened_at"]),
            record={k: v for k, v in data.items() if k != REMARKS_FIELD},
            remarks=crypto.seal_json(
                data_key, data[REMARKS_FIELD], str(school.uuid), str(mutation["id"]), REMARKS_FIELD
            ),
            recorded_by_id=actor.user.id,
            recorded_at=now,
            version=state["version"],
            change_no=next_change_no(school),
        )
        db.session.add(opening)
        lookups.created(opening)
        _append_event(school, actor, mutation, now, subject=opening.uuid, data_key=data_key)
        return opening
    found = lookups.opening(uuid.UUID(mutation["data"]["opening_id"]))
    state = rules.evolve(
        opening_state(found, school) if found else None, mutation["type"], None, mutation["data"], today
    )
    assert found is not None  # the rules refuse an opening that is not there
    found.version = state["version"]
    found.acknowledged_at, found.acknowledged_by_id = now, actor.user.id
    found.change_no = next_change_no(school)
    _append_event(school, actor, mutation, now, subject=found.uuid)
    return found


def _record_meeting(
    actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups
) -> Meeting:
    state = rules.evolve(None, mutation["type"], None, mutation["data"], today, _context(school, mutation, lookups))
    now = utcnow()
    meeting = Meeting(
        uuid=mutation["id"],
        school_id=school.id,
        held_on=dt.date.fromisoformat(state["meeting"]["held_on"]),
        record=state["meeting"],
        recorded_by_id=actor.user.id,
        recorded_at=now,
        version=state["version"],
        change_no=next_change_no(school),
    )
    db.session.add(meeting)
    _append_event(school, actor, mutation, now, subject=meeting.uuid)
    return meeting


def _record_report(
    actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups
) -> Presentation:
    state = rules.evolve(None, mutation["type"], None, mutation["data"], today, _context(school, mutation, lookups))
    now = utcnow()
    presentation = Presentation(
        uuid=mutation["id"],
        school_id=school.id,
        month=state["report"]["month"],
        recorded_by_id=actor.user.id,
        recorded_at=now,
        version=state["version"],
        change_no=next_change_no(school),
    )
    db.session.add(presentation)
    _append_event(school, actor, mutation, now, subject=presentation.uuid)
    return presentation


Recorded = Appeal | Opening | Meeting | Presentation

_RECORDERS: dict[str, Callable[[Actor, School, dict[str, Any], dt.date, Lookups], Recorded]] = {
    "appeal": _record_appeal,
    "opening": _record_opening,
    "meeting": _record_meeting,
    "report": _record_report,
}


def record(actor: Actor, school: School, mutation: dict[str, Any], lookups: Lookups, today: dt.date) -> Recorded:
    """Apply one validated mutation: rules, projection, event; nothing is flushed yet.

    Raises ``Refusal`` or ``Conflict`` before changing anything, so a refused mutation needs no rollback."""
    recorder = _RECORDERS[mutation["type"].entity]
    return recorder(actor, school, mutation, today, lookups)
