"""Openings of the box: the act the working group records (``opening.recorded``) and the director
acknowledges (``opening.acknowledged``), regulation 003 §2.3-2.4.

The act's remarks are sealed under a data key of the opening's own; the rest of the act is readable on its
row (``Opening.record``). Every role that pulls receives the act: it is sent to the director.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server import crypto
from server.models import Event, Opening, School, utcnow
from server.services import journal, keys
from server.services.accounts import Actor
from server.services.kinds.base import Lookups, PullPage, RecordKind, Rows, recorded, replayed, verify_subjects
from sync import rules
from sync.events import EventType

REMARKS_FIELD = "remarks"


def state(opening: Opening, school: School, data_key: bytes | None = None) -> dict[str, Any]:
    """The opening as the rules see it, its remarks decrypted."""
    key = data_key if data_key is not None else keys.open_data_key(opening.data_key, school)
    remarks = crypto.open_json(key, opening.remarks, str(school.uuid), str(opening.uuid), REMARKS_FIELD)
    return {
        "version": opening.version,
        "opening": {**opening.record, REMARKS_FIELD: remarks},
        "acknowledged": opening.acknowledged_at is not None,
    }


def _target(mutation: dict[str, Any]) -> uuid.UUID:
    """A new act's own id; the act an acknowledgement names."""
    if mutation["type"] is EventType.OPENING_RECORDED:
        own: uuid.UUID = mutation["id"]
        return own
    return uuid.UUID(mutation["data"]["opening_id"])


def _record(actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups) -> Opening:
    if mutation["type"] is EventType.OPENING_RECORDED:
        new_state = rules.evolve(None, mutation["type"], None, mutation["data"], today)
        data = new_state["opening"]
        key_row, data_key = keys.create_data_key(school, mutation["id"])
        opening = OPENING.add(
            school,
            actor,
            mutation,
            new_state["version"],
            sealed_with=data_key,
            data_key=key_row,
            opened_at=dt.datetime.fromisoformat(data["opened_at"]),
            record={k: v for k, v in data.items() if k != REMARKS_FIELD},
            remarks=crypto.seal_json(
                data_key, data[REMARKS_FIELD], str(school.uuid), str(mutation["id"]), REMARKS_FIELD
            ),
        )
        lookups.created(OPENING, opening)
        return opening
    found = lookups.find(OPENING, _target(mutation))
    new_state = rules.evolve(state(found, school) if found else None, mutation["type"], None, mutation["data"], today)
    assert found is not None  # the rules refuse an opening that is not there
    now = utcnow()
    found.version = new_state["version"]
    found.acknowledged_at, found.acknowledged_by_id = now, actor.user.id
    found.change_no = journal.next_change_no(school)
    journal.append_event(school, actor, mutation, now, subject=found.uuid)
    return found


def _change(opening: Opening, school: School) -> dict[str, Any]:
    return OPENING.change(
        opening,
        **state(opening, school)["opening"],
        acknowledged_at=opening.acknowledged_at,
        acknowledged_by=opening.acknowledged_by.full_name if opening.acknowledged_by else None,
    )


def _render(openings: list[Opening], page: PullPage) -> list[dict[str, Any]]:
    return [_change(opening, page.school) for opening in openings]


def _rows(opening: Opening, school: School, events: list[Event]) -> Rows:
    """The act down to who recorded and who acknowledged it."""
    data_key = keys.open_data_key(opening.data_key, school)
    stored = {
        "state": state(opening, school, data_key),
        "opened_at": opening.opened_at,
        "recorded": (opening.recorded_at, opening.recorded_by_id),
        "acknowledged": (opening.acknowledged_at, opening.acknowledged_by_id),
    }
    expected = {
        "state": replayed(events, school, data_key),
        "opened_at": dt.datetime.fromisoformat(str(events[0].meta["opened_at"])) if events else None,
        "recorded": recorded(events, 0),
        "acknowledged": recorded(events, 1),
    }
    return stored, expected


OPENING: RecordKind[Opening] = RecordKind(
    entity="opening",
    model=Opening,
    record=_record,
    render=_render,
    verify=lambda school: verify_subjects(OPENING, school, _rows),
    target=_target,
)
