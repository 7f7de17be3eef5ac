"""How the school's records look in a pull: appeals with their history, openings and meetings.

Each change carries the record's current state and its change number. Letter contents, the case work's
texts and correction reasons go only to readers of letters (``sync.reads_contents``), and to nobody once
the retention period erased them (``erased``).
"""

from __future__ import annotations

from typing import Any

from server.models import Appeal, Event, Meeting, Opening, Presentation, School
from server.services import journal, keys
from sync import rules
from sync.calendar import WorkCalendar
from sync.events import EventType


def history_entry(event: Event, school: School, data_key: bytes | None) -> dict[str, Any]:
    """One line of an appeal's history; with a data key (a reader of contents) a correction's reason."""
    fields = event.meta.get("fields", [])
    entry: dict[str, Any] = {
        "id": event.uuid,
        "type": event.type,
        "recorded_at": event.recorded_at,
        "by": event.user.full_name,
        "fields_changed": list(fields) if isinstance(fields, list) else [],
    }
    if data_key is not None and event.type == EventType.APPEAL_AMENDED:
        entry["reason"] = journal.event_data(event, school, data_key).get("reason")
    return entry


def appeal_change(
    appeal: Appeal,
    school: School,
    with_contents: bool,
    events: list[Event],
    calendar: WorkCalendar,
    due_in: int,
) -> dict[str, Any]:
    """An appeal as the pull carries it; contents and case work only for a reader allowed to see letters."""
    due_on = rules.due_on(appeal.status, appeal.received_on, calendar, due_in)
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
        "due_on": due_on,
        "answered_on": appeal.answered_on,
        "closed_on": appeal.closed_on,
        "erased": appeal.erased_at is not None,
        "erased_at": appeal.erased_at,
    }
    # An erased case has no key left to open: metadata and history only, for every role.
    data_key = keys.open_data_key(appeal.data_key, school) if with_contents and appeal.erased_at is None else None
    if data_key is not None:
        change["contents"] = journal.open_contents(appeal, school, data_key)
    change["history"] = [history_entry(event, school, data_key) for event in events]
    return change


def opening_change(opening: Opening, school: School) -> dict[str, Any]:
    """An opening and its act: for everyone who pulls (the act is sent to the director)."""
    state = journal.opening_state(opening, school)
    return {
        "entity": "opening",
        "change_no": opening.change_no,
        "id": opening.uuid,
        "version": opening.version,
        **state["opening"],
        "recorded_at": opening.recorded_at,
        "recorded_by": opening.recorded_by.full_name,
        "acknowledged_at": opening.acknowledged_at,
        "acknowledged_by": opening.acknowledged_by.full_name if opening.acknowledged_by else None,
    }


def report_change(presentation: Presentation) -> dict[str, Any]:
    return {
        "entity": "report",
        "change_no": presentation.change_no,
        "id": presentation.uuid,
        "version": presentation.version,
        "month": presentation.month,
        "recorded_at": presentation.recorded_at,
        "recorded_by": presentation.recorded_by.full_name,
    }


def meeting_change(meeting: Meeting) -> dict[str, Any]:
    return {
        "entity": "meeting",
        "change_no": meeting.change_no,
        "id": meeting.uuid,
        "version": meeting.version,
        **meeting.record,
        "recorded_at": meeting.recorded_at,
        "recorded_by": meeting.recorded_by.full_name,
    }
