"""Reports: the monthly information on the box marked presented (``report.presented``), once per month and
never for a month to come (regulation 003 §2.6: by the 5th). A report holds only its month.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from server.db import db
from server.models import Event, Report, School
from server.services.accounts import Actor
from server.services.kinds.base import Lookups, PullPage, RecordKind, Rows, recorded, replayed, verify_subjects
from sync import rules


def state(report: Report) -> dict[str, Any]:
    return {"version": report.version, "report": {"month": report.month}}


def _record(actor: Actor, school: School, mutation: dict[str, Any], today: dt.date, lookups: Lookups) -> Report:
    month = mutation["data"]["month"]
    taken = db.session.scalar(select(Report.id).where(Report.school_id == school.id, Report.month == month))
    context = {"presented": [month] if taken else []}  # the rules refuse a month presented already
    new_state = rules.evolve(None, mutation["type"], None, mutation["data"], today, context)
    return REPORT.add(school, actor, mutation, new_state["version"], month=new_state["report"]["month"])


def _render(reports: list[Report], page: PullPage) -> list[dict[str, Any]]:
    return [REPORT.change(report, month=report.month) for report in reports]


def _rows(report: Report, school: School, events: list[Event]) -> Rows:
    stored = {"state": state(report), "recorded": (report.recorded_at, report.recorded_by_id)}
    return stored, {"state": replayed(events, school, None), "recorded": recorded(events, 0)}


REPORT: RecordKind[Report] = RecordKind(
    entity="report",
    model=Report,
    record=_record,
    render=_render,
    verify=lambda school: verify_subjects(REPORT, school, _rows),
)
