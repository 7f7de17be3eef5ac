"""The dashboard and the monthly information on a known month, counted by hand.

March 2025 on the Kyrgyz calendar: Nooruz on Friday 21 March; the `holidays` package does not list Eid
al-Fitr's 20 March, so it is a working day here. Anonymous letters come from an "unknown" writer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask import Flask

from server.db import db
from server.models import School
from server.services import figures
from sync.client import Outbox
from sync.events import APPLICANT_ROLES, CATEGORIES, MEASURE_KINDS, Role
from tests.factory import Factory, anonymous_registration, registration

MEMBERS = [{"name": f"Мүчө {n}", "position": "комиссия", "confirmed": True} for n in range(3)]


def march(factory: Factory, school: School) -> dict[str, str]:
    """Five letters received in March 2025 and one in February, with their case work."""
    device = factory.device(Role.PEDAGOGUE, school)
    outbox = Outbox()
    ids = {name: str(uuid.uuid4()) for name in ("feb", "l1", "l2", "l3", "l4", "l5")}
    versions: dict[str, int] = {}

    def step(name: str, type: str, data: dict[str, Any]) -> None:
        versions[name] = versions.get(name, 1)
        outbox.add(type, ids[name], data, versions[name])
        versions[name] += 1

    outbox.add(
        "opening.recorded",
        None,
        {
            "opened_at": "2025-03-03T08:00:00+06:00",
            "members": [{"name": m["name"], "position": m["position"]} for m in MEMBERS[:2]],
            "letters_count": 2,
            "seal": "intact",
        },
    )
    meeting = outbox.add("meeting.recorded", None, {"held_on": "2025-03-07", "members_present": MEMBERS})
    outbox.add("appeal.registered", ids["feb"], registration(received_on="2025-02-27"))
    outbox.add("appeal.registered", ids["l1"], registration(received_on="2025-03-03"))
    outbox.add("appeal.registered", ids["l2"], anonymous_registration(received_on="2025-03-03"))
    outbox.add(
        "appeal.registered",
        ids["l3"],
        registration(
            received_on="2025-03-10",
            category="violence_or_cruelty",
            applicant={**registration()["applicant"], "role": "parent"},
        ),
    )
    outbox.add("appeal.registered", ids["l4"], anonymous_registration(received_on="2025-03-17"))
    outbox.add(
        "appeal.registered",
        ids["l5"],
        registration(
            received_on="2025-03-18",
            category="psychological_help",
            applicant={**registration()["applicant"], "role": "teacher"},
        ),
    )
    step(
        "l1",
        "appeal.decided",
        {"meeting_id": meeting["id"], "decision": "Сүйлөшүү.", "official": {"name": "Б. О.", "position": "орун басар"}},
    )
    step("l1", "appeal.answered", {"answered_on": "2025-03-07", "way": "in_person", "kind": "answer", "text": "Ж."})
    step("l2", "appeal.answered", {"answered_on": "2025-03-12", "way": "stand", "kind": "answer", "text": "Ж."})
    step("l3", "appeal.referred", {"referred_on": "2025-03-11", "authority": "police"})
    step("l4", "appeal.not_accepted", {"decided_on": "2025-03-17", "reason": "Уят сөздөр."})
    step("l5", "appeal.answered", {"answered_on": "2025-03-25", "way": "in_person", "kind": "answer", "text": "Ж."})
    step(
        "l5",
        "appeal.measure_recorded",
        {"taken_on": "2025-03-25", "kind": "material_help", "description": "Китеп.", "taken_by": "А. Ж."},
    )
    step("l5", "appeal.closed", {"closed_on": "2025-03-26"})
    outbox.flush(device)
    assert outbox.needs_attention == []
    return ids


def zero(names: tuple[str, ...], **given: Any) -> dict[str, Any]:
    return {name: given.get(name, 0) for name in names}


@pytest.fixture
def school(app: Flask, factory: Factory) -> School:
    school = factory.school()
    march(factory, school)
    return school


def test_the_figures_of_march_counted_by_hand(app, school):
    with app.app_context():
        report = figures.monthly_report(db.session.get(School, school.id), dt.date(2025, 3, 1), dt.date(2025, 4, 2))
    assert report == {
        "month": "2025-03",
        "from": dt.date(2025, 3, 1),
        "to": dt.date(2025, 3, 31),
        "complete": True,
        "received": 5,
        # Counts of one or two are hidden; zeros and counts of three or more are shown.
        "by_category": zero(CATEGORIES, bullying=3, violence_or_cruelty="<3", psychological_help="<3"),
        "by_applicant_role": zero(APPLICANT_ROLES, student="<3", unknown="<3", parent="<3", teacher="<3"),
        "anonymous": "<3",
        "not_accepted": "<3",
        "referred": "<3",
        "answered": 3,
        # L1 (due 10 March, answered 7th) and L5 (due 26 March past Nooruz, answered 25th) on time, L2 late.
        "answered_on_time": "<3",
        "closed": "<3",
        "measures": zero(MEASURE_KINDS, material_help="<3"),
        # 2 of 5 anonymous and 2 of 3 on time would give the hidden counts away: no shares.
        "anonymous_share": None,
        "answered_on_time_share": None,
        # Working days to answer: L1 4 (4-7 March), L2 7 (4-12 March), L5 4 (19, 20, 24, 25 March).
        "average_days_to_answer": 5.0,
        "openings": 1,
        "meetings": 1,
    }


def test_the_dashboard_on_the_second_of_april(app, school):
    with app.app_context():
        shown = figures.dashboard(db.session.get(School, school.id), dt.date(2025, 4, 2))
    year = shown["school_year"]
    assert (year["from"], year["to"]) == (dt.date(2024, 9, 1), dt.date(2025, 4, 2))
    assert year["received"] == 6  # the February letter too
    assert year["by_category"] == zero(CATEGORIES, bullying=4, violence_or_cruelty=1, psychological_help=1)
    assert year["by_applicant_role"] == zero(APPLICANT_ROLES, student=2, unknown=2, parent=1, teacher=1)
    assert (year["anonymous"], year["anonymous_share"]) == (2, round(2 / 6, 4))
    assert (year["not_accepted"], year["referred"], year["answered"], year["answered_on_time"]) == (1, 1, 3, 2)
    assert (year["answered_on_time_share"], year["average_days_to_answer"], year["closed"]) == (round(2 / 3, 4), 5.0, 1)
    assert shown["month"]["received"] == 0 and shown["month"]["from"] == dt.date(2025, 4, 1)
    # Overdue on 2 April: the February letter (due 6 March) and L3 (due 17 March); L4 was not accepted.
    assert shown["overdue"] == {
        "count": 2,
        "letters": [{"school_year": 2024, "serial_no": 1}, {"school_year": 2024, "serial_no": 4}],
    }
    assert shown["last_meeting"]["held_on"] == dt.date(2025, 3, 7)
    assert shown["last_opening"]["letters_count"] == 2 and shown["last_opening"]["acknowledged_at"] is None
    assert [act["opened_at"] for act in shown["acts_awaiting"]] == ["2025-03-03T08:00:00+06:00"]
    assert shown["alerts"] == ["no_collection"]  # 30 days since the opening: over a week, within a month
    assert [m["month"] for m in shown["trend"]] == [f"2024-{m:02d}" for m in range(5, 13)] + [
        f"2025-{m:02d}" for m in range(1, 5)
    ]
    assert [(m["received"], m["answered"]) for m in shown["trend"] if m["received"]] == [(1, 0), (5, 3)]


def test_the_endpoints_serve_the_figures_to_their_roles(app, factory, school, client):
    def get(role: Role, path: str) -> tuple[int, Any]:
        device = factory.device(role, school)
        response = client.get(path, headers={"Authorization": f"Bearer {device.token}"})
        return response.status_code, response.get_json()

    status, body = get(Role.DIRECTOR, "/api/v1/reports/monthly?month=2025-03")
    assert status == 200 and body["month"] == "2025-03" and body["figures"]["received"] == 5
    assert body["figures"]["by_category"]["violence_or_cruelty"] == "<3"
    for role in (Role.DIRECTOR, Role.ADMIN, Role.COMMISSION):
        status, body = get(role, "/api/v1/dashboard")
        assert status == 200 and body["school_year"]["from"].endswith("-09-01"), role
    assert get(Role.PEDAGOGUE, "/api/v1/dashboard")[0] == 403
    assert get(Role.PEDAGOGUE, "/api/v1/reports/monthly?month=2025-03")[0] == 200
    for bad in ("2025-13", "2025-3", "1999-12", "march"):
        status, body = get(Role.DIRECTOR, f"/api/v1/reports/monthly?month={bad}")
        assert (status, body["error"]) == (422, "validation_error"), bad
    other = factory.device(Role.DIRECTOR)  # another school: its own, empty figures
    response = client.get("/api/v1/reports/monthly?month=2025-03", headers={"Authorization": f"Bearer {other.token}"})
    assert response.get_json()["figures"]["received"] == 0


def test_the_last_month_a_date_can_name_is_reported(factory, school, client):
    """December 9999 once overflowed looking for the month after it (a 500 found by fuzzing)."""
    director = factory.device(Role.DIRECTOR, school)
    headers = {"Authorization": f"Bearer {director.token}"}
    response = client.get("/api/v1/reports/monthly?month=9999-12", headers=headers)
    assert response.status_code == 200, response.get_json()
    shown = response.get_json()["figures"]
    assert (shown["from"], shown["to"], shown["complete"], shown["received"]) == ("9999-12-01", "9999-12-31", False, 0)
