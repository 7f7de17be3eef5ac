"""The Trust Box in figures: the director's dashboard and the monthly information (regulation 003 §2.6).

Everything here is counted from readable metadata (dates, categories, roles, statuses, event types and
kinds); nothing is decrypted, so no figure can carry a name or a word of a letter. The monthly report also
hides small counts (1 or 2 shown as ``"<3"``), so that no child can be singled out in a small school.
"""

from __future__ import annotations

import datetime as dt
import json
from calendar import monthrange
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    column,
    func,
    select,
    text,
    true,
    type_coerce,
)

from server.db import db
from server.models import Appeal, Meeting, Opening, School
from server.services import deadlines, journal, schools
from server.services.kinds.appeal import MARK, REFERRED  # a letter's case work as its row carries it
from sync import rules
from sync.calendar import WorkCalendar
from sync.events import APPLICANT_ROLES, CATEGORIES, MEASURE_KINDS, AppealStatus

SMALL = 3  # counts below this (and above zero) are shown as "<3" in the report
FEWER_THAN_SMALL = f"<{SMALL}"
TREND_MONTHS = 12
DONE = frozenset({AppealStatus.ANSWERED, AppealStatus.CLOSED, AppealStatus.NOT_ACCEPTED})


def _marks(value: ColumnElement[str], mark: str) -> ColumnElement[int]:
    """The length of ``|mark|`` times the number of times it is in ``value`` (in every SQL: no ``strpos`` or
    ``instr``). Divided by that length in Python: an SQL division would need a cast in each dialect."""
    return func.length(value) - func.length(func.replace(value, MARK + mark + MARK, ""))


def _work_days(calendar: WorkCalendar, due_in: int, days: tuple[dt.date, dt.date], end: dt.date) -> str:
    """The calendar as a table for the database, in JSON, one row a day from ``first`` to ``last``
    (``days``): ``due`` the day an answer to a letter received that day is due (up to ``end``, the last day
    a counted letter is received), ``ord`` the working days in (``first``, day]. The working days an answer
    took are then ``ord(answered) - ord(received)``, as ``WorkCalendar.working_days_between`` counts them."""
    first, last = days
    rows = []
    working = 0
    for offset in range((last - first).days + 1):  # not past ``last``: it may be the last day a date can name
        day = first + dt.timedelta(days=offset)
        working += offset > 0 and calendar.is_working_day(day)
        due = _due(calendar, day, due_in) if day <= end else None
        rows.append({"day": day.isoformat(), "due": due, "ord": working})
    return json.dumps(rows, separators=(",", ":"))


def _work_days_table(dialect: str) -> CTE:
    """The rows of ``_work_days``, read by the database from the one parameter ``work_days``
    (``json_to_recordset`` in PostgreSQL, ``json_each`` in SQLite): the statement is the same whatever the
    days, so it is built and compiled once (a ``VALUES`` list would be compiled anew for every request)."""
    days = bindparam("work_days", type_=String)
    if dialect == "postgresql":
        table = (
            func.json_to_recordset(cast(days, JSON))
            .table_valued(column("day", Date), column("due", Date), column("ord", Integer))
            .render_derived(with_types=True)
        )
        return select(table.c.day, table.c.due, table.c.ord).cte("work_days")
    each = func.json_each(days).table_valued("value")
    return select(
        func.json_extract(each.c.value, "$.day").label("day"),
        func.json_extract(each.c.value, "$.due").label("due"),
        type_coerce(func.json_extract(each.c.value, "$.ord"), Integer).label("ord"),
    ).cte("work_days")


def _due(calendar: WorkCalendar, day: dt.date, due_in: int) -> str | None:
    """The day an answer to a letter received on ``day`` is due; None where no date can name it (a period
    may end in December 9999, and no letter is received there)."""
    try:
        return calendar.due_on(day, due_in).isoformat()
    except OverflowError:
        return None


def _zero() -> dict[str, Any]:
    return {
        "received": 0,
        "by_category": dict.fromkeys(CATEGORIES, 0),
        "by_applicant_role": dict.fromkeys(APPLICANT_ROLES, 0),
        "anonymous": 0,
        "not_accepted": 0,
        "referred": 0,
        "answered": 0,
        "answered_on_time": 0,
        "closed": 0,
        "measures": dict.fromkeys(MEASURE_KINDS, 0),
        "days_to_answer": 0,
    }


@dataclass(frozen=True)
class InDistrict:
    """Every school of a district (named by the district in the query, not by a thousand ids)."""

    district_id: int


@cache
def _counting(dialect: str, in_district: bool) -> Select[Any]:
    """The statement that counts (see ``counts_of_schools``), built once per dialect and kind of school list:
    building it is most of a school's report time otherwise. Parameters: ``district`` or ``schools``, ``start``,
    ``end``, ``work_days``."""
    if in_district:
        of_schools = Appeal.school_id.in_(select(School.id).where(School.district_id == bindparam("district")))
    else:
        of_schools = Appeal.school_id.in_(bindparam("schools", expanding=True))
    table = _work_days_table(dialect)
    received_day, answered_day = table.alias("received_day"), table.alias("answered_day")
    letters = (
        select(
            Appeal.school_id,
            Appeal.received_on,
            Appeal.category,
            Appeal.applicant_role,
            Appeal.anonymous,
            Appeal.status,
            Appeal.answered_on,
            (Appeal.answered_on <= received_day.c.due).label("on_time"),
            # Outside the table the working days are NULL: that count is then made again (counts_of_schools).
            case((Appeal.answered_on > Appeal.received_on, answered_day.c.ord - received_day.c.ord), else_=0).label(
                "days"
            ),
            Appeal.case_marks.label("case_work"),
        )
        .outerjoin(received_day, received_day.c.day == Appeal.received_on)
        .outerjoin(answered_day, answered_day.c.day == Appeal.answered_on)
        .where(of_schools, Appeal.received_on >= bindparam("start"), Appeal.received_on <= bindparam("end"))
        .cte("letters")
    )

    def count(*where: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count().filter(*where) if where else func.count()

    def total(value: ColumnElement[int]) -> ColumnElement[int]:
        return func.coalesce(func.sum(value), 0)

    answered = letters.c.answered_on.is_not(None)
    case_work = letters.c.case_work  # NULL without case work: no string work at all for most letters
    return select(
        letters.c.school_id,
        count(),
        count(letters.c.anonymous == true()),
        count(letters.c.status == AppealStatus.NOT_ACCEPTED.value),
        count(_marks(case_work, REFERRED) > 0),  # a letter referred twice is one referred letter
        count(answered),
        count(answered, letters.c.on_time == true()),
        total(case((answered, letters.c.days), else_=0)),
        count(letters.c.status == AppealStatus.CLOSED.value),
        *(count(letters.c.category == category) for category in CATEGORIES),
        *(count(letters.c.applicant_role == role) for role in APPLICANT_ROLES),
        *(total(_marks(case_work, kind)) for kind in MEASURE_KINDS),
        func.min(letters.c.received_on),
        func.max(letters.c.received_on),
        func.max(letters.c.answered_on),
    ).group_by(letters.c.school_id)


def counts_of_schools(
    schools: list[int] | InDistrict,
    start: dt.date,
    end: dt.date,
    calendar: WorkCalendar,
    due_in: int,
    days: tuple[dt.date, dt.date] | None = None,
) -> dict[int, dict[str, Any]]:
    """The figures of each school's letters received in [start, end] (schools on one calendar): received,
    by category and by the writer's role, anonymous, not accepted, referred, answered and on time, the
    average working days to an answer, measures taken. Every figure of the dashboard, the monthly report and
    a district is counted here, and nowhere else.

    The database counts, in one statement: one row comes back per school, not one per letter, whose
    unpacking in Python was most of a district's time (docs/BENCHMARKS.md). Deadlines need the school's
    calendar, which goes with the statement as a table of ``days`` (``_work_days``): by default from the
    period's start (or the earliest day a letter may be received) to the last day a letter or an answer can
    be dated (today, ``rules.RECEIVED_ON_TOLERANCE``), never the thousands of years a period may name.
    Should a letter or an answer be dated outside them all the same, the count is made again over the days
    from the first to the last date found: the figures are exact whatever the data."""
    connection = db.session.connection()
    if days is None:
        first = max(start, rules.EARLIEST_RECEIVED_ON)
        latest_possible = dt.datetime.now(dt.UTC).date() + rules.RECEIVED_ON_TOLERANCE + dt.timedelta(days=1)
        days = (first, max(first, latest_possible))
    parameters: dict[str, Any] = {"start": start, "end": end, "work_days": _work_days(calendar, due_in, days, end)}
    if isinstance(schools, InDistrict):
        parameters["district"] = schools.district_id
    else:
        parameters["schools"] = schools
    if connection.dialect.name == "postgresql" and (isinstance(schools, InDistrict) or len(schools) > 1):
        # A district's count is costed high enough for PostgreSQL to compile it to machine code first, which
        # took longer (40-100 ms) than it saved on 42,000 letters. For this transaction only.
        connection.execute(text("SET LOCAL jit = off"))
    rows = connection.execute(_counting(connection.dialect.name, isinstance(schools, InDistrict)), parameters).all()
    dates = [day for row in rows for day in row[-3:] if day is not None]
    if dates and (min(dates) < days[0] or max(dates) > days[1]):
        return counts_of_schools(schools, start, end, calendar, due_in, (min(dates), max(dates)))
    figures: dict[int, dict[str, Any]] = {}
    for school_id, *numbers in rows:
        received, anonymous, not_accepted, referred, answers, on_time, took, closed = numbers[:8]
        tallies = iter(numbers[8:-3])
        figures[school_id] = {
            "received": received,
            "by_category": {category: next(tallies) for category in CATEGORIES},
            "by_applicant_role": {role: next(tallies) for role in APPLICANT_ROLES},
            "anonymous": anonymous,
            "not_accepted": not_accepted,
            "referred": referred,
            "answered": answers,
            "answered_on_time": on_time,
            "closed": closed,
            "measures": {kind: next(tallies) // len(MARK + kind + MARK) for kind in MEASURE_KINDS},
            "days_to_answer": took,
        }
    return {school_id: _with_shares(school) for school_id, school in figures.items()}


def _with_shares(figures: dict[str, Any]) -> dict[str, Any]:
    """The counts with the anonymous share, the share on time and the average working days to an answer."""
    days = figures.pop("days_to_answer")
    return {
        **figures,
        "anonymous_share": _share(figures["anonymous"], figures["received"]),
        "answered_on_time_share": _share(figures["answered_on_time"], figures["answered"]),
        "average_days_to_answer": round(days / figures["answered"], 1) if figures["answered"] else None,
    }


def counts(school: School, start: dt.date, end: dt.date, calendar: WorkCalendar, due_in: int) -> dict[str, Any]:
    """One school's figures for letters received in [start, end] (``counts_of_schools``)."""
    return counts_of_schools([school.id], start, end, calendar, due_in).get(school.id) or _with_shares(_zero())


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


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
            **counts(school, month_start, today, calendar, due_in),
        },
        "school_year": {
            "from": year_start,
            "to": today,
            **counts(school, year_start, today, calendar, due_in),
        },
        "overdue": {"count": len(overdue), "letters": [{"school_year": y, "serial_no": n} for y, n in overdue]},
        "last_opening": _opening_summary(last_opening, school) if last_opening else None,
        "last_meeting": {"id": last_meeting.uuid, "held_on": last_meeting.held_on} if last_meeting else None,
        "alerts": cadence_alerts(last_opening, school, today, settings),
        "acts_awaiting": [_opening_summary(opening, school) for opening in awaiting],
        "trend": _trend(school, trend_start, today),
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


def _trend(school: School, first: dt.date, today: dt.date) -> list[dict[str, Any]]:
    """Letters received and answered in each month from ``first`` to this one, counted by day received."""
    by_day = db.session.execute(
        select(Appeal.received_on, Appeal.answered_on.is_not(None), func.count())
        .where(Appeal.school_id == school.id, Appeal.received_on >= first, Appeal.received_on <= today)
        .group_by(Appeal.received_on, Appeal.answered_on.is_not(None))
    ).all()
    months = []
    month = first
    while month <= today:
        end = _month_end(month)
        months.append(
            {
                "month": month.strftime("%Y-%m"),
                "received": sum(n for received_on, _, n in by_day if month <= received_on <= end),
                "answered": sum(n for received_on, answered, n in by_day if answered and month <= received_on <= end),
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
    figures = counts(school, month, end, calendar, due_in)
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

    Schools with the same settings share one calendar and are counted together, by the database: a
    district of 1,000 schools is then a few queries, not thousands, and a row per school comes back, not
    one per letter (docs/BENCHMARKS.md)."""
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
    # Schools with the same time zone and settings share a calendar, and are counted in one query.
    alike: dict[tuple[str, str], tuple[Any, list[int]]] = {}
    for school_id, _, _, timezone, settings in linked:
        key = (timezone, json.dumps(settings or {}, sort_keys=True, default=str))
        alike.setdefault(key, (settings, []))[1].append(school_id)
    figures_of: dict[int, dict[str, Any]] = {}
    for (timezone, _), (settings, school_ids) in alike.items():
        model = School(timezone=timezone, settings=settings)  # not added to the session: never saved
        calendar, due_in, _ = _setting_calendar(model, journal.school_today(model), start)
        # A district of one calendar is named by its id rather than a list of a thousand ids.
        of_schools: list[int] | InDistrict = InDistrict(district_id) if len(alike) == 1 else school_ids
        figures_of.update(counts_of_schools(of_schools, start, end, calendar, due_in))
    per_school = []
    total: dict[str, Any] = {}
    for school_id, school_uuid, name, _, _ in linked:
        figures = figures_of.get(school_id) or _with_shares(_zero())
        for share in ("anonymous_share", "answered_on_time_share", "average_days_to_answer"):
            figures.pop(share)
        _add(total, figures)
        per_school.append({"id": school_uuid, "name": name, **_hide_small(figures)})
    return {"from": start, "to": end, "schools": per_school, "total": _hide_small(total)}


def _add(total: dict[str, Any], figures: dict[str, Any]) -> None:
    """``figures`` added into ``total`` key by key, nested dicts too. In place: a district's total was
    otherwise built anew for each of its 1,000 schools, garbage the collector then stopped to sweep."""
    for key, value in figures.items():
        if isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value
