"""The append-only journal: events, the appeals projection, serial numbers and the hash chain.

Every accepted mutation becomes one event, chained to the school's previous one, and updates its
appeal's row in the same transaction. Callers hold the school's lock (``lock_school``) throughout, which
is what makes serial numbers gapless and change numbers grow in commit order.
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
from server.models import Appeal, Event, School, SerialCounter, utcnow
from server.services import keys
from server.services.accounts import Actor
from sync import rules
from sync.chain import chain_hash
from sync.events import EventType

CONTENTS_FIELD = "contents"


def lock_school(school_id: int) -> School:
    """The school's row, locked until commit: one writer at a time extends a school's journal."""
    school = db.session.scalars(
        select(School).where(School.id == school_id).with_for_update().execution_options(populate_existing=True)
    ).one()
    return school


def school_today(school: School) -> dt.date:
    return dt.datetime.now(ZoneInfo(school.timezone)).date()


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


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_record(event: Event, school: School) -> dict[str, Any]:
    """What the hash chain covers: every stored column of the event, ciphertext included."""
    return {
        "v": 1,
        "school": str(school.uuid),
        "position": event.position,
        "id": str(event.uuid),
        "type": event.type,
        "appeal": str(event.appeal.uuid) if event.appeal else None,
        "device": str(event.device.uuid),
        "user": str(event.user.uuid),
        "seq": event.seq,
        "recorded_at": _utc_text(event.recorded_at),
        "meta": event.meta,
        "sealed": base64.b64encode(event.sealed).decode() if event.sealed is not None else None,
    }


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
    key = data_key if data_key is not None else keys.open_data_key(appeal.data_key, school)
    contents: dict[str, Any] = crypto.open_json(
        key, appeal.contents, str(school.uuid), str(appeal.uuid), CONTENTS_FIELD
    )
    return contents


def state_of(appeal: Appeal, school: School) -> dict[str, Any]:
    """The case as the rules see it, decrypted."""
    registration = rules.join_registration(row_meta(appeal), open_contents(appeal, school))
    return {"status": appeal.status, "version": appeal.version, "registration": registration}


def _write_projection(appeal: Appeal, school: School, data_key: bytes, state: dict[str, Any], now: dt.datetime) -> None:
    meta, contents = rules.split_registration(state["registration"])
    appeal.received_on = dt.date.fromisoformat(meta["received_on"])
    appeal.opening_id = uuid.UUID(meta["opening_id"]) if meta["opening_id"] else None
    appeal.category = meta["category"]
    appeal.urgent = meta["urgent"]
    appeal.anonymous = meta["anonymous"]
    appeal.applicant_role = meta["applicant_role"]
    appeal.contents = crypto.seal_json(data_key, contents, str(school.uuid), str(appeal.uuid), CONTENTS_FIELD)
    appeal.status = state["status"]
    appeal.version = state["version"]
    appeal.updated_at = now
    appeal.change_no = next_change_no(school)


def _event_parts(mutation: dict[str, Any], appeal: Appeal) -> tuple[dict[str, Any], Any]:
    """Split an event's data into what stays readable (metadata) and what is sealed."""
    data = mutation["data"]
    if mutation["type"] is EventType.APPEAL_REGISTERED:
        meta, contents = rules.split_registration(data)
        # The number is written into the chain, as ink on the paper page: swapping two is detectable.
        return {**meta, "serial_no": appeal.serial_no, "school_year": appeal.school_year}, contents
    changes = data["changes"]
    fields = sorted([k for k in changes if k != "applicant"] + [f"applicant.{k}" for k in changes.get("applicant", {})])
    return {"base_version": mutation["base_version"], "fields": fields}, data


def event_data(event: Event, school: School, data_key: bytes) -> dict[str, Any]:
    """The inverse of ``_event_parts``: an event's data as it came over the wire."""
    assert event.appeal is not None and event.sealed is not None  # every event so far concerns an appeal
    sealed = crypto.open_json(data_key, event.sealed, str(school.uuid), str(event.appeal.uuid), event_field(event.uuid))
    if event.type == EventType.APPEAL_REGISTERED:
        return rules.join_registration(event.meta, sealed)
    result: dict[str, Any] = sealed
    return result


def _append_event(
    school: School, actor: Actor, mutation: dict[str, Any], appeal: Appeal, data_key: bytes, now: dt.datetime
) -> Event:
    meta, secret = _event_parts(mutation, appeal)
    event = Event(
        uuid=mutation["id"],
        school_id=school.id,
        position=school.chain_length + 1,
        type=mutation["type"].value,
        appeal=appeal,
        device=actor.device,
        user=actor.user,
        seq=mutation["seq"],
        recorded_at=now,
        meta=meta,
        sealed=crypto.seal_json(data_key, secret, str(school.uuid), str(appeal.uuid), event_field(mutation["id"])),
        prev_hash=school.chain_head,
    )
    event.hash = chain_hash(event.prev_hash, chain_record(event, school))
    school.chain_length, school.chain_head = event.position, event.hash
    db.session.add(event)
    return event


def find_appeal(school: School, appeal_id: uuid.UUID) -> Appeal | None:
    return db.session.scalar(select(Appeal).where(Appeal.uuid == appeal_id, Appeal.school_id == school.id))


def record(actor: Actor, school: School, mutation: dict[str, Any]) -> Appeal:
    """Apply one validated mutation: rules, projection, event. Raises ``Refusal`` or ``Conflict``."""
    event_type: EventType = mutation["type"]
    appeal = find_appeal(school, mutation["appeal_id"])
    # Another school's case: a registration is refused like any taken id; an amendment simply finds nothing.
    # (The order of the conditions keeps the extra query to registrations of new ids.)
    if (
        appeal is None
        and event_type is EventType.APPEAL_REGISTERED
        and db.session.scalar(select(Appeal.id).where(Appeal.uuid == mutation["appeal_id"])) is not None
    ):
        raise rules.Refusal("appeal_exists", "An appeal with this id is registered already.")
    state = state_of(appeal, school) if appeal is not None else None
    new_state = rules.evolve(state, event_type, mutation["base_version"], mutation["data"], school_today(school))
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
    else:
        data_key = keys.open_data_key(appeal.data_key, school)
    _write_projection(appeal, school, data_key, new_state, now)
    _append_event(school, actor, mutation, appeal, data_key, now)
    db.session.flush()
    return appeal


def history_entry(event: Event, school: School, data_key: bytes | None) -> dict[str, Any]:
    """One line of an appeal's history; with a data key (a reader of contents) it includes the reason."""
    fields = event.meta.get("fields", [])
    entry: dict[str, Any] = {
        "id": event.uuid,
        "type": event.type,
        "recorded_at": event.recorded_at,
        "by": event.user.full_name,
        "fields_changed": list(fields) if isinstance(fields, list) else [],
    }
    if data_key is not None:
        entry["reason"] = event_data(event, school, data_key).get("reason")
    return entry


def appeal_change(appeal: Appeal, school: School, with_contents: bool, events: list[Event]) -> dict[str, Any]:
    """An appeal as the pull carries it, with its history; contents only for a reader allowed to see letters."""
    change: dict[str, Any] = {
        "entity": "appeal",
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
    }
    data_key = keys.open_data_key(appeal.data_key, school) if with_contents else None
    if data_key is not None:
        change["contents"] = open_contents(appeal, school, data_key)
    change["history"] = [history_entry(event, school, data_key) for event in events]
    return change
