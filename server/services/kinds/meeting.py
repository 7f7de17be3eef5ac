"""Commission meetings (``meeting.recorded``, regulation 000: Fridays); their decisions are the
``appeal.decided`` events of the letters on the agenda. A meeting is readable on its row: it holds no
letter's contents.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.models import Event, Meeting, School
from server.services import schools
from server.services.accounts import Actor
from server.services.kinds.base import Lookups, PullPage, RecordKind, Rows, recorded, replayed, verify_subjects
from sync import rules


def state(meeting: Meeting) -> dict[str, Any]:
    return {"version": meeting.version, "meeting": meeting.record}


def _record(actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups) -> Meeting:
    # The rules check the members present against the school's quorum.
    context = {"quorum": schools.settings_of(school)["quorum"]}
    new_state = rules.evolve(None, mutation["type"], None, mutation["data"], today, context)
    return MEETING.add(
        school,
        actor,
        mutation,
        new_state["version"],
        held_on=dt.date.fromisoformat(new_state["meeting"]["held_on"]),
        record=new_state["meeting"],
    )


def _render(meetings: list[Meeting], page: PullPage) -> list[dict[str, Any]]:
    return [MEETING.change(meeting, **meeting.record) for meeting in meetings]


def _rows(meeting: Meeting, school: School, events: list[Event]) -> Rows:
    stored = {
        "state": state(meeting),
        "held_on": meeting.held_on,
        "recorded": (meeting.recorded_at, meeting.recorded_by_id),
    }
    expected = {
        "state": replayed(events, school, None),
        "held_on": dt.date.fromisoformat(str(events[0].meta["held_on"])) if events else None,
        "recorded": recorded(events, 0),
    }
    return stored, expected


MEETING: RecordKind[Meeting] = RecordKind(
    entity="meeting",
    model=Meeting,
    record=_record,
    render=_render,
    verify=lambda school: verify_subjects(MEETING, school, _rows),
)
