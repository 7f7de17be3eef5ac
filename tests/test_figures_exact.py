"""The figures the database counts equal the figures counted letter by letter, on a varied data set.

``figures.counts_of_schools`` counts in SQL (one row per school) with the school's calendar sent as a
table of days. Here the same figures are counted the plain way, each letter in Python on the school's
``WorkCalendar`` (as ``figures`` itself counted them before), and the two must be equal to the last
digit: in the district's aggregate (schools on two calendars), the monthly report and the dashboard.

The data set, made through the real journal: four schools (one with another calendar: answers due in
3 working days, a day off and a six-day week; one with a few letters, so its counts are hidden; one with
none), letters signed and anonymous from every kind of writer, of several categories, refused, open,
answered on time and late (the same day, the next, weeks later), closed, referred once or twice, with no
measure, one, or the same kind twice. Then letters dated where no journal would date them (received
before 2000, answered in a far year): the count is made again over their days, still exact.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from server.db import db
from server.models import Appeal, District, Event, School
from server.services import deadlines, figures, schools
from sync.client import Outbox
from sync.events import APPLICANT_ROLES, CATEGORIES, MEASURE_KINDS, AppealStatus, EventType, Role
from tests.clock import school_today
from tests.factory import Factory, anonymous_registration, registration

FIRST = dt.date(2025, 2, 3)
DAYS = 110  # letters received from 3 February to late May 2025
TODAY = dt.date(2025, 6, 20)  # the date the dashboard is drawn on
OTHER_CALENDAR = {"due_in_days": 3, "week": 6, "days_off": ["2025-03-12", "2025-04-15"]}
SIGNED_ROLES = [role for role in APPLICANT_ROLES if role != "unknown"]


def _letters(factory: Factory, school: School, count: int, rng: random.Random) -> None:
    """``count`` letters with every kind of course a case takes, chosen by ``rng``."""
    device = factory.device(Role.PEDAGOGUE, school)
    outbox = Outbox()
    for _ in range(count):
        appeal = str(uuid.uuid4())
        received = FIRST + dt.timedelta(days=rng.randrange(DAYS))
        day = received.isoformat()
        category = rng.choice(CATEGORIES)
        anonymous = rng.random() < 0.35
        if anonymous:
            data = anonymous_registration(received_on=day, category=category)
        else:
            role = rng.choice(SIGNED_ROLES)
            data = registration(
                received_on=day, category=category, applicant={**registration()["applicant"], "role": role}
            )
        outbox.add("appeal.registered", appeal, data)
        versions = iter(range(1, 100))

        def step(type: str, fields: dict[str, Any], appeal: str = appeal, versions: Iterator[int] = versions) -> None:
            outbox.add(type, appeal, fields, next(versions))

        course = rng.random()
        if course < 0.1:
            step("appeal.not_accepted", {"decided_on": day, "reason": "Уят сөздөр."})
            continue
        if course < 0.25:
            continue  # still registered
        for referral in range(rng.choice([0, 0, 1, 2])):
            on = (received + dt.timedelta(days=referral + rng.randrange(3))).isoformat()
            step("appeal.referred", {"referred_on": on, "authority": "police"})
        if course < 0.4:
            continue  # open, perhaps referred
        answered = received + dt.timedelta(days=rng.choice([0, 1, 2, 4, 6, 9, 15, 30]))
        way = "stand" if anonymous else "in_person"
        step("appeal.answered", {"answered_on": answered.isoformat(), "way": way, "kind": "answer", "text": "Ж."})
        for kind in rng.choice([[], [], [rng.choice(MEASURE_KINDS)], ["conversation", "conversation"], ["other"]]):
            taken = {"taken_on": answered.isoformat(), "kind": kind, "description": "Иш.", "taken_by": "А. Ж."}
            step("appeal.measure_recorded", taken)
        if rng.random() < 0.5:
            step("appeal.closed", {"closed_on": (answered + dt.timedelta(days=1)).isoformat()})
    outbox.flush(device)
    assert outbox.needs_attention == []


def _made(factory: Factory) -> tuple[list[School], int]:
    rng = random.Random(7)
    made = [factory.school(f"School {name}") for name in ("A", "B", "C", "D")]
    with factory.app.app_context():
        other = db.session.get(School, made[1].id)
        assert other is not None
        schools.update_settings(other, OTHER_CALENDAR)
        db.session.commit()
    for school, count in zip(made, (60, 45, 4, 0), strict=True):
        _letters(factory, school, count, rng)
    factory.district(*made)
    with factory.app.app_context():
        district_id = db.session.scalars(select(District.id)).one()
        schools_in = db.session.scalars(select(School).where(School.district_id == district_id)).all()
        assert sorted(school.name for school in schools_in) == sorted(school.name for school in made)
    return made, district_id


def _by_hand(school: School, start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    """The figures of ``school``'s letters received in [start, end], counted one letter at a time."""
    settings = schools.settings_of(school)
    calendar = deadlines.work_calendar(settings, deadlines.calendar_years(today, start))
    letters = db.session.scalars(
        select(Appeal).where(Appeal.school_id == school.id, Appeal.received_on >= start, Appeal.received_on <= end)
    ).all()
    events = db.session.scalars(
        select(Event).where(
            Event.appeal_id.in_([letter.id for letter in letters]),
            Event.type.in_([EventType.APPEAL_REFERRED.value, EventType.APPEAL_MEASURE_RECORDED.value]),
        )
    ).all()
    referred = {event.appeal_id for event in events if event.type == EventType.APPEAL_REFERRED.value}
    measures = Counter(event.meta["kind"] for event in events if event.type == EventType.APPEAL_MEASURE_RECORDED.value)
    answered = [letter for letter in letters if letter.answered_on is not None]
    on_time = [
        a
        for a in answered
        if a.answered_on and a.answered_on <= calendar.due_on(a.received_on, settings["due_in_days"])
    ]
    days = [calendar.working_days_between(a.received_on, a.answered_on) for a in answered if a.answered_on]
    categories = Counter(letter.category for letter in letters)
    roles = Counter(letter.applicant_role for letter in letters)
    anonymous = sum(letter.anonymous for letter in letters)
    return {
        "received": len(letters),
        "by_category": {category: categories[category] for category in CATEGORIES},
        "by_applicant_role": {role: roles[role] for role in APPLICANT_ROLES},
        "anonymous": anonymous,
        "anonymous_share": round(anonymous / len(letters), 4) if letters else None,
        "not_accepted": sum(letter.status == AppealStatus.NOT_ACCEPTED for letter in letters),
        "referred": len(referred),
        "answered": len(answered),
        "answered_on_time": len(on_time),
        "answered_on_time_share": round(len(on_time) / len(answered), 4) if answered else None,
        "average_days_to_answer": round(sum(days) / len(days), 1) if days else None,
        "closed": sum(letter.status == AppealStatus.CLOSED for letter in letters),
        "measures": {kind: measures[kind] for kind in MEASURE_KINDS},
    }


def _district_by_hand(made: list[School], start: dt.date, end: dt.date) -> dict[str, Any]:
    shown = []
    total: dict[str, Any] = {}
    for school in sorted(made, key=lambda school: school.name):
        counted = _by_hand(db.session.get(School, school.id) or school, start, end, school_today())
        for share in ("anonymous_share", "answered_on_time_share", "average_days_to_answer"):
            counted.pop(share)
        figures._add(total, counted)
        shown.append({"id": school.uuid, "name": school.name, **figures._hide_small(counted)})
    return {"from": start, "to": end, "schools": shown, "total": figures._hide_small(total)}


def test_the_database_counts_as_each_letter_counted_by_hand(app: Flask, factory: Factory) -> None:
    made, district_id = _made(factory)
    with app.app_context():
        busy, other = (db.session.get(School, school.id) for school in made[:2])
        assert busy is not None and other is not None
        # The data set has what it is meant to have (else the comparison below would prove little).
        full = _by_hand(busy, FIRST, TODAY, TODAY)
        assert full["answered"] > full["answered_on_time"] > 0 and full["referred"] > 0 and full["not_accepted"] > 0
        assert full["closed"] > 0 and full["anonymous"] > 0 and full["measures"]["conversation"] >= 2
        assert figures.counts(other, FIRST, TODAY, *_calendar(other)) != figures.counts(
            other, FIRST, TODAY, *_calendar(busy)
        ), "School B's calendar makes no difference: the test would not see a school counted on another's"

        for start, end in [(FIRST, TODAY), (dt.date(2025, 3, 1), dt.date(2025, 3, 31)), (dt.date(2025, 4, 10), TODAY)]:
            assert figures.district_figures(district_id, start, end) == _district_by_hand(made, start, end)

        for school in (busy, other, db.session.get(School, made[2].id)):
            assert school is not None
            for month in (dt.date(2025, 2, 1), dt.date(2025, 3, 1), dt.date(2025, 5, 1)):
                report = figures.monthly_report(school, month, TODAY)
                counted = _by_hand(school, month, figures._month_end(month), TODAY)
                expected = figures._hide_small(
                    {k: v for k, v in counted.items() if "share" not in k and "average" not in k}
                )
                assert {key: report[key] for key in expected} == expected
            shown = figures.dashboard(school, TODAY)
            for part, start in (("month", dt.date(2025, 6, 1)), ("school_year", dt.date(2024, 9, 1))):
                assert {k: v for k, v in shown[part].items() if k not in ("from", "to")} == _by_hand(
                    school, start, TODAY, TODAY
                ), part
            for month in shown["trend"]:
                first = dt.date.fromisoformat(month["month"] + "-01")
                counted = _by_hand(school, first, figures._month_end(first), TODAY)
                assert (month["received"], month["answered"]) == (counted["received"], counted["answered"])


def _calendar(school: School, since: dt.date = FIRST) -> tuple[Any, int]:
    """The school's calendar as ``_by_hand`` takes it: with the holidays of the years back to ``since``."""
    calendar, due_in, _ = figures._setting_calendar(school, TODAY, since)
    return calendar, due_in


def test_letters_dated_outside_the_days_sent_are_counted_again_exactly(app: Flask, factory: Factory) -> None:
    """No journal dates a letter before 2000 or an answer after tomorrow, but the figures must not lose
    or miscount such a row: the count is made again over the days it names."""
    made, district_id = _made(factory)
    with app.app_context():
        busy = db.session.get(School, made[0].id)
        assert busy is not None
        answered = db.session.scalars(
            select(Appeal.id).where(Appeal.school_id == busy.id, Appeal.answered_on.is_not(None)).order_by(Appeal.id)
        ).all()
        far = school_today() + dt.timedelta(days=500)
        db.session.execute(update(Appeal).where(Appeal.id == answered[0]).values(answered_on=far))
        db.session.execute(update(Appeal).where(Appeal.id == answered[1]).values(received_on=dt.date(1999, 12, 20)))
        db.session.flush()
        start = dt.date(1999, 12, 1)
        expected = _district_by_hand(made, start, TODAY)
        assert expected["total"]["received"] == 109
        assert figures.district_figures(district_id, start, TODAY) == expected
        assert figures.counts(busy, start, TODAY, *_calendar(busy, start)) == _by_hand(busy, start, TODAY, TODAY)
        db.session.rollback()


def test_periods_to_the_ends_of_the_calendar_are_counted(app: Flask, factory: Factory) -> None:
    """The day table spans only the days a letter or an answer can be dated: a period from year 1 to
    December 9999 neither sends millions of days nor looks for a deadline past the last date."""
    made, district_id = _made(factory)
    with app.app_context():
        whole = figures.district_figures(district_id, dt.date.min, dt.date.max)
        assert whole == _district_by_hand(made, dt.date.min, dt.date.max)
        assert whole["total"]["received"] == 109
        last_day = figures.district_figures(district_id, dt.date.max, dt.date.max)
        assert last_day["total"]["received"] == 0
        busy = db.session.get(School, made[0].id)
        assert busy is not None
        assert figures.monthly_report(busy, dt.date(9999, 12, 1))["received"] == 0
