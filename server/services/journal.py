"""The append-only journal: the school's lock, change and serial numbers, events and the hash chain.

Every accepted mutation becomes one event, chained to the school's previous one, and changes its record's
row in the same transaction: what that means for each kind of record is its module under
``server/services/kinds/``, which calls ``append_event`` here. Callers hold the school's lock
(``lock_school``) throughout, which is what makes serial numbers gapless and change numbers grow in commit
order.

An event's data is split as it is appended: what stays readable (``PUBLIC_FIELDS``, and the registration's
metadata) goes into ``Event.meta``, the rest is sealed under its record's data key; ``event_data`` joins
them again.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server import crypto
from server.db import db
from server.models import Appeal, DataKey, Event, School, SerialCounter
from server.services import keys
from server.services.accounts import Actor
from sync import rules
from sync.chain import chain_hash
from sync.events import PUBLIC_FIELDS, EventType


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
    if event.subject is not None:  # a record that is no appeal; appeal events keep their original record
        record["subject"] = str(event.subject)
    return record


def event_field(event_id: uuid.UUID) -> str:
    return f"event:{event_id}"


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
    """The record whose data key seals the event: its appeal, or the record it is about (``Event.subject``)."""
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


def event_key(event: Event, school: School) -> bytes | None:
    """The data key that opens an event's sealed part, found by its record; None when there is nothing
    sealed, or when the retention period destroyed the key."""
    if event.sealed is None:
        return None
    owner = uuid.UUID(event_record_id(event))
    row = db.session.scalar(select(DataKey).where(DataKey.school_id == school.id, DataKey.owner == owner))
    if row is None or not row.wrapped:
        return None
    return keys.open_data_key(row, school)


def as_mutation(event: Event, school: School) -> dict[str, Any]:
    """A stored event as ``rules.same_mutation`` compares it: its device, type, record, base version and
    data; the data None when its sealed part can no longer be opened (a case the retention period erased)."""
    base_version = event.meta.get("base_version")
    data_key = event_key(event, school)
    return {
        "device": str(event.device.uuid),
        "type": event.type,
        "record": event_record_id(event),
        "base_version": base_version if isinstance(base_version, int) else None,
        "data": event_data(event, school, data_key) if event.sealed is None or data_key is not None else None,
    }


def readable_part(mutation: dict[str, Any], appeal: Appeal | None) -> dict[str, Any]:
    """What of a mutation its event keeps readable (``Event.meta``), for an erased case's comparison."""
    return _event_parts(mutation, appeal)[0]


def append_event(
    school: School,
    actor: Actor,
    mutation: dict[str, Any],
    now: dt.datetime,
    *,
    appeal: Appeal | None = None,
    subject: uuid.UUID | None = None,
    data_key: bytes | None = None,
) -> Event:
    """The mutation as the next event of the school's chain, about ``appeal`` or ``subject``; its data's
    confidential part sealed under ``data_key``. Added to the session, not flushed."""
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
