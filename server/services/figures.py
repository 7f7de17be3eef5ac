"""The Trust Box in figures: the director's dashboard and the monthly information (regulation 003 §2.6).

Everything here is counted from readable metadata (dates, categories, roles, statuses, event types and
kinds); nothing is decrypted, so no figure can carry a name or a word of a letter. The monthly report also
hides small counts (1 or 2 shown as ``"<3"``), so that no child can be singled out in a small school.
"""

from __future__ import annotations

import datetime as dt
import json
from calendar import monthrange
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Integer, Select, any_, bindparam, select

from server.db import db
from server.models import Appeal, Event, Meeting, Opening, School
from server.services import deadlines, journal, schools
from sync import rules
from sync.calendar import WorkCalendar
from sync.events import APPLICANT_ROLES, CATEGORIES, MEASURE_KINDS, AppealStatus, EventType

SMALL = 3  # counts below this (and above zero) are shown as "<3" in the report
FEWER_THAN_SMALL = f"<{SMALL}"
TREND_MONTHS = 12
DONE = frozenset({AppealStatus.ANSWERED, AppealStatus.CLOSED, AppealStatus.NOT_ACCEPTED})


@dataclass(frozen=True)
class Letter:
    """What the figures need of one appeal: its metadata and the kinds of case work recorded on it."""

    school_year: int
    serial_no: int
    received_on: dt.date
    category: str
    applicant_role: str
    anonymous: bool
    status: str
    answered_on: dt.date | None
    referred: bool
    measures: tuple[str, ...]


def _letters(school: School, start: dt.date, end: dt.date) -> list[Letter]:
    """The school's appeals received in [start, end], with their referrals and measures."""
    return _letters_of_schools([school.id], start, end).get(school.id, [])


def _letters_of_schools(school_ids: list[int] | Select[Any], start: dt.date, end: dt.date) -> dict[int, list[Letter]]:
    """The appeals received in [start, end] of each school, with their referrals and measures.

    Two queries whatever the number of schools: a district's figures would otherwise cost two per school,
    2,000 round trips for 1,000 schools. They run on the session's connection without the ORM's row
    loading, and rows are unpacked as tuples: at a district's tens of thousands of letters the per-row cost
    in Python, not the database, is what the time is spent on (docs/BENCHMARKS.md).
    """
    connection = db.session.connection()
    in_period = (Appeal.school_id.in_(school_ids), Appeal.received_on >= start, Appeal.received_on <= end)
    appeals = connection.execute(
        select(
            Appeal.id,
            Appeal.school_id,
            Appeal.school_year,
            Appeal.serial_no,
            Appeal.received_on,
            Appeal.category,
            Appeal.applicant_role,
            Appeal.anonymous,
            Appeal.status,
            Appeal.answered_on,
        ).where(*in_period)
    ).all()
    referred: set[int] = set()
    measures: dict[int, list[str]] = {}
    if appeals:
        ids = [row[0] for row in appeals]
        # PostgreSQL is given the ids as one array: ``= ANY`` probes ``ix_events_case_work`` once per
        # letter, where a join or an IN over the appeals is planned as a scan of every case event of the
        # district. SQLite (one school's letters) takes a plain IN list.
        if connection.dialect.name == "postgresql":
            of_letters = Event.appeal_id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
        else:
            of_letters = Event.appeal_id.in_(ids)
        kinds = (EventType.APPEAL_REFERRED.value, EventType.APPEAL_MEASURE_RECORDED.value)
        # An appeal's events are its school's (the journal writes them so): no school to check.
        # Only the measure's kind is read out of ``meta``, by the database: no JSON decoded per event here.
        for appeal_id, event_type, kind in connection.execute(
            select(Event.appeal_id, Event.type, Event.meta["kind"].as_string()).where(of_letters, Event.type.in_(kinds))
        ).all():
            if event_type == EventType.APPEAL_REFERRED.value:
                referred.add(appeal_id or 0)  # never None: the query names appeals
            else:
                measures.setdefault(appeal_id or 0, []).append(str(kind))
    by_school: dict[int, list[Letter]] = {}
    for appeal_id, school_id, year, serial, received_on, category, role, anonymous, status, answered_on in appeals:
        by_school.setdefault(school_id, []).append(
            Letter(
                school_year=year,
                serial_no=serial,
                received_on=received_on,
                category=category,
                applicant_role=role,
                anonymous=anonymous,
                status=status,
                answered_on=answered_on,
                referred=appeal_id in referred,
                measures=tuple(measures.get(appeal_id, ())),
            )
        )
    return by_school


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _memo(compute: Callable[[Any], Any], memo: dict[Any, Any], key: tuple[Any, ...]) -> Callable[[Any], Any]:
    """``compute`` remembered in ``memo`` under ``key`` + its argument."""

    def remembered(argument: Any) -> Any:
        if (*key, argument) not in memo:
            memo[(*key, argument)] = compute(argument)
        return memo[(*key, argument)]

    return remembered


def counts(
    letters: list[Letter], calendar: WorkCalendar, due_in: int, memo: dict[Any, Any] | None = None
) -> dict[str, Any]:
    """The figures of a set of letters: received, by category and by the writer's role, anonymous,
    not accepted, referred, answered and on time, the average working days to an answer, measures taken.

    ``memo`` may be shared by calls on the same calendar (a district's schools with the same settings)."""
    memo = {} if memo is None else memo
    answered = [letter for letter in letters if letter.answered_on is not None]
    # Many letters share a day received (and a district's schools share a calendar): each deadline and
    # each count of working days is worked out once per distinct day, not once per letter.
    due_on = _memo(lambda received_on: calendar.due_on(received_on, due_in), memo, ("due", due_in))
    between = _memo(lambda pair: calendar.working_days_between(*pair), memo, ("between",))
    on_time = [
        letter
        for letter in answered
        if letter.answered_on is not None and letter.answered_on <= due_on(letter.received_on)
    ]
    days = [between((letter.received_on, letter.answered_on)) for letter in answered if letter.answered_on]
    measures = Counter(kind for letter in letters for kind in letter.measures)
    categories = Counter(letter.category for letter in letters)
    roles = Counter(letter.applicant_role for letter in letters)
    return {
        "received": len(letters),
        "by_category": {category: categories[category] for category in CATEGORIES},
        "by_applicant_role": {role: roles[role] for role in APPLICANT_ROLES},
        "anonymous": sum(letter.anonymous for letter in letters),
        "anonymous_share": _share(sum(letter.anonymous for letter in letters), len(letters)),
        "not_accepted": sum(letter.status == AppealStatus.NOT_ACCEPTED for letter in letters),
        "referred": sum(letter.referred for letter in letters),
        "answered": len(answered),
        "answered_on_time": len(on_time),
        "answered_on_time_share": _share(len(on_time), len(answered)),
        "average_days_to_answer": round(sum(days) / len(days), 1) if days else None,
        "closed": sum(letter.status == AppealStatus.CLOSED for letter in letters),
        "measures": {kind: measures[kind] for kind in MEASURE_KINDS},
    }


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_end(first: dt.date) -> dt.date:
    # Not "the day before the next month's first": December 9999 has no next month.
    return first.replace(day=monthrange(first.year, first.month)[1])


def _months_back(first: dt.date, count: int) -> dt.date:
    month = first.year * 12 + first.month - 1 - count
    return dt.date(month // 12, month % 12 + 1, 1)


def _setting_calendar(school: School, today: dt.date, since: dt.date) -> tuple[WorkCalendar, int, dict[str, Any]]:
    settings = schools.settings_of(school)
    return deadlines.work_calendar(settings, deadlines.calendar_years(today, since)), settings["due_in_days"], settings


def dashboard(school: School, today: dt.date | None = None) -> dict[str, Any]:
    """The director's dashboard: this month and this school year, what is overdue now, the last opening and
    meeting with the cadence alerts, the acts awaiting acknowledgement, and twelve months of trend.

    ``today`` is the school's date (given by tests to pin a known month)."""
    today = today or journal.school_today(school)
    month_start = _month_start(today)
    year_start = dt.date(rules.school_year(today), 9, 1)
    trend_start = _months_back(month_start, TREND_MONTHS - 1)
    open_letters = db.session.execute(
        select(Appeal.school_year, Appeal.serial_no, Appeal.received_on).where(
            Appeal.school_id == school.id, Appeal.status.not_in([status.value for status in DONE])
        )
    ).all()
    since = min([year_start, trend_start, *(row.received_on for row in open_letters)])
    calendar, due_in, settings = _setting_calendar(school, today, since)
    letters = _letters(school, min(year_start, trend_start), today)
    overdue = sorted(
        (row.school_year, row.serial_no) for row in open_letters if today > calendar.due_on(row.received_on, due_in)
    )
    last_opening = db.session.scalars(
        select(Opening).where(Opening.school_id == school.id).order_by(Opening.opened_at.desc()).limit(1)
    ).first()
    last_meeting = db.session.scalars(
        select(Meeting).where(Meeting.school_id == school.id).order_by(Meeting.held_on.desc()).limit(1)
    ).first()
    awaiting = db.session.scalars(
        select(Opening)
        .where(Opening.school_id == school.id, Opening.acknowledged_at.is_(None))
        .order_by(Opening.opened_at)
    ).all()
    return {
        "today": today,
        "month": {
            "from": month_start,
            "to": today,
            **counts([x for x in letters if x.received_on >= month_start], calendar, due_in),
        },
        "school_year": {
            "from": year_start,
            "to": today,
            **counts([x for x in letters if x.received_on >= year_start], calendar, due_in),
        },
        "overdue": {"count": len(overdue), "letters": [{"school_year": y, "serial_no": n} for y, n in overdue]},
        "last_opening": _opening_summary(last_opening, school) if last_opening else None,
        "last_meeting": {"id": last_meeting.uuid, "held_on": last_meeting.held_on} if last_meeting else None,
        "alerts": cadence_alerts(last_opening, school, today, settings),
        "acts_awaiting": [_opening_summary(opening, school) for opening in awaiting],
        "trend": _trend(letters, trend_start, month_start),
    }


def _opening_summary(opening: Opening, school: School) -> dict[str, Any]:
    return {
        "id": opening.uuid,
        "opened_at": opening.record["opened_at"],
        "letters_count": opening.record["letters_count"],
        "acknowledged_at": opening.acknowledged_at,
    }


def cadence_alerts(last: Opening | None, school: School, today: dt.date, settings: dict[str, Any]) -> list[str]:
    """``no_collection`` after a week without an opening (000), ``no_act`` after a month (003); both settings."""
    days = (today - dt.date.fromisoformat(str(last.record["opened_at"])[:10])).days if last else None
    alerts = []
    if days is None or days > settings["collection_every_days"]:
        alerts.append("no_collection")
    if days is None or days > settings["act_every_days"]:
        alerts.append("no_act")
    return alerts


def _trend(letters: list[Letter], first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    months = []
    month = first
    while month <= last:
        end = _month_end(month)
        received = [letter for letter in letters if month <= letter.received_on <= end]
        months.append(
            {
                "month": month.strftime("%Y-%m"),
                "received": len(received),
                "answered": sum(letter.answered_on is not None for letter in received),
            }
        )
        month = end + dt.timedelta(days=1)
    return months


def _hide_small(value: Any) -> Any:
    """Counts 1 and 2 become ``"<3"``, inside dicts too; shares and averages are left as they are."""
    if isinstance(value, dict):
        return {key: _hide_small(item) for key, item in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < SMALL:
        return FEWER_THAN_SMALL
    return value


def _safe(share: float | None, part: int, whole: int) -> float | None:
    return None if 0 < part < SMALL or 0 < whole - part < SMALL else share


def monthly_report(school: School, month: dt.date, today: dt.date | None = None) -> dict[str, Any]:
    """The information on the box's work for one month (due by the 5th of the next): the letters received in
    that month, counted in aggregate, small counts hidden; and the openings and meetings held."""
    end = _month_end(month)
    today = today or journal.school_today(school)
    calendar, due_in, _ = _setting_calendar(school, today, month)
    figures = counts(_letters(school, month, end), calendar, due_in)
    # A share tells as much as the counts it is made of: it is shown only where neither the part nor the
    # rest is a hidden small count, and an average only over enough answers.
    shares = {
        "anonymous_share": _safe(figures.pop("anonymous_share"), figures["anonymous"], figures["received"]),
        "answered_on_time_share": _safe(
            figures.pop("answered_on_time_share"), figures["answered_on_time"], figures["answered"]
        ),
        "average_days_to_answer": figures.pop("average_days_to_answer") if figures["answered"] >= SMALL else None,
    }
    start_moment = dt.datetime.combine(month, dt.time.min, dt.UTC) - dt.timedelta(days=1)
    openings = [
        o
        for o in db.session.scalars(
            select(Opening).where(Opening.school_id == school.id, Opening.opened_at >= start_moment)
        )
        if month <= dt.date.fromisoformat(str(o.record["opened_at"])[:10]) <= end
    ]
    meetings = db.session.scalars(
        select(Meeting.id).where(Meeting.school_id == school.id, Meeting.held_on >= month, Meeting.held_on <= end)
    ).all()
    return {
        "month": month.strftime("%Y-%m"),
        "from": month,
        "to": end,
        "complete": today > end,
        **_hide_small(figures),
        **shares,
        "openings": len(openings),
        "meetings": len(meetings),
    }


def district_figures(district_id: int, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Each linked school's figures for letters received in [start, end], and their total: counts only, each
    school on its own calendar, small counts hidden as in the monthly report; no name of a writer, no
    serial number, no word of a letter.

    The letters of every school come in one pass, and schools with the same settings and date share one
    calendar: a district of 1,000 schools is then a few queries, not thousands (docs/BENCHMARKS.md)."""
    # The schools as plain rows: what the figures need of each is its name, time zone and settings.
    linked = (
        db.session.connection()
        .execute(
            select(School.id, School.uuid, School.name, School.timezone, School.settings)
            .where(School.district_id == district_id)
            .order_by(School.name)
        )
        .all()
    )
    letters = _letters_of_schools(select(School.id).where(School.district_id == district_id), start, end)
    calendars: dict[tuple[str, str], tuple[WorkCalendar, int, dict[Any, Any]]] = {}
    per_school = []
    total: dict[str, Any] = {}
    for school_id, school_uuid, name, timezone, settings in linked:
        key = (timezone, json.dumps(settings or {}, sort_keys=True, default=str))
        if key not in calendars:
            alike = School(timezone=timezone, settings=settings)  # not added to the session: never saved
            calendar, due_in, _ = _setting_calendar(alike, journal.school_today(alike), start)
            calendars[key] = (calendar, due_in, {})
        calendar, due_in, memo = calendars[key]
        figures = counts(letters.get(school_id, []), calendar, due_in, memo)
        for share in ("anonymous_share", "answered_on_time_share", "average_days_to_answer"):
            figures.pop(share)
        total = _add(total, figures)
        per_school.append({"id": school_uuid, "name": name, **_hide_small(figures)})
    return {"from": start, "to": end, "schools": per_school, "total": _hide_small(total)}


def _add(total: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    """Counts summed key by key, nested dicts too."""
    return {
        key: _add(total.get(key, {}), value) if isinstance(value, dict) else total.get(key, 0) + value
        for key, value in figures.items()
    }
