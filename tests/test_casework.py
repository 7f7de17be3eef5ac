"""The regulations' workflow on the server: openings and acts, meetings and quorum, case work, deadlines.

Every rule is also pinned by ``sync/vectors/evolve.json`` (replayed in Python and JavaScript); these tests
prove the server applies them over HTTP, stores what they produce, serves it in the pull, and that
``verify`` replays the result.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask import Flask

from server.db import db
from server.models import Appeal, Event, Meeting, Opening, School
from server.services import verify
from sync.client import Outbox, SyncClient, SyncError
from sync.events import Role
from tests.clock import school_today
from tests.factory import Factory, anonymous_registration, registration

MEMBERS = [
    {"name": "Айгүл Жумабаева", "position": "социалдык педагог"},
    {"name": "Бакыт Осмонов", "position": "директордун тарбия иштери боюнча орун басары"},
    {"name": "Чынара Кадырова", "position": "профсоюз өкүлү"},
]


def day(offset: int) -> str:
    """A date ``offset`` days after the letters of these tests were received, a week before the school's today."""
    return (school_today() + dt.timedelta(days=offset - 7)).isoformat()


def set_settings(app: Flask, school: School, **settings: Any) -> None:
    with app.app_context():
        row = db.session.get(School, school.id)
        assert row is not None
        row.settings = {**(row.settings or {}), **settings}
        db.session.commit()


class Desk:
    """One device's outbox with helpers that name the workflow's steps; every step is pushed at once."""

    def __init__(self, device: SyncClient) -> None:
        self.device = device
        self.outbox = Outbox()
        self.versions: dict[str, int] = {}

    def send(self, type: str, appeal_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
        base = self.versions.get(appeal_id) if appeal_id and type != "appeal.registered" else None
        mutation = self.outbox.add(type, appeal_id, data, base)
        self.outbox.flush(self.device)
        result = self.outbox.acknowledged.get(mutation["id"]) or self.outbox.needs_attention[-1][1]
        if result["status"] == "applied" and appeal_id:
            self.versions[appeal_id] = result["version"]
        return {**result, "id": mutation["id"]}

    def opening(self, **overrides: Any) -> dict[str, Any]:
        data = {
            "opened_at": f"{day(0)}T08:05:00+06:00",
            "members": MEMBERS[:2],
            "letters_count": 2,
            "seal": "intact",
            "remarks": "Пломба бүтүн.",
            **overrides,
        }
        return self.send("opening.recorded", None, data)

    def register(self, data: dict[str, Any]) -> str:
        appeal_id = str(uuid.uuid4())
        assert self.send("appeal.registered", appeal_id, data)["status"] == "applied"
        return appeal_id

    def meeting(self, held_on: str, members: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        present = [{**m, "confirmed": True} for m in (MEMBERS if members is None else members)]
        return self.send("meeting.recorded", None, {"held_on": held_on, "members_present": present})


@pytest.fixture
def school(factory: Factory) -> School:
    return factory.school()


@pytest.fixture
def desk(factory: Factory, school: School) -> Desk:
    return Desk(factory.device(Role.PEDAGOGUE, school))


def by_entity(changes: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    for change in changes:
        grouped.setdefault(change["entity"], {})[change["id"]] = change
    return grouped


def test_a_week_of_the_trust_box_is_recorded_pulled_and_verified(app, factory, school, desk):
    """Opening → two letters from it → meeting → decisions → answers in person and on the stand → referral
    and feedback → measure → closing; the director acknowledges the act; verify replays all of it."""
    opening = desk.opening()
    assert opening["status"] == "applied" and opening["serial_no"] is None and opening["version"] == 1
    signed = desk.register(registration(received_on=day(0), opening_id=opening["id"]))
    hidden = desk.register(anonymous_registration(received_on=day(0), opening_id=opening["id"], receipt_code="7K3M9Q"))
    meeting = desk.meeting(day(4))
    assert meeting["status"] == "applied"
    for appeal_id in (signed, hidden):
        decision = {
            "meeting_id": meeting["id"],
            "decision": "Класс жетекчиси менен сүйлөшүү.",
            "official": MEMBERS[1],
            "measures_planned": "Жеке сүйлөшүү.",
        }
        assert desk.send("appeal.decided", appeal_id, decision)["status"] == "applied"
    steps = [
        (signed, "appeal.answered", {"answered_on": day(4), "way": "in_person", "kind": "answer", "text": "Жооп."}),
        (
            hidden,
            "appeal.answered",
            {"answered_on": day(4), "way": "stand", "kind": "answer", "text": "Стенддеги жооп."},
        ),
        (hidden, "appeal.notice_posted", {"answer_no": 1, "posted_on": day(4)}),
        (hidden, "appeal.notice_removed", {"answer_no": 1, "removed_on": day(6)}),
        (signed, "appeal.referred", {"referred_on": day(1), "authority": "juvenile_inspector", "outgoing_no": "12/45"}),
        (signed, "appeal.feedback_received", {"referral_no": 1, "received_on": day(5), "text": "Иш жүргүзүлдү."}),
        (
            signed,
            "appeal.measure_recorded",
            {"taken_on": day(5), "kind": "material_help", "description": "Китептер.", "taken_by": "Айгүл Жумабаева"},
        ),
        (signed, "appeal.closed", {"closed_on": day(6), "outcome": "Чечилди."}),
    ]
    for appeal_id, type, data in steps:
        assert desk.send(type, appeal_id, data)["status"] == "applied", type

    director = factory.device(Role.DIRECTOR, school)
    acknowledged = Desk(director).send("opening.acknowledged", None, {"opening_id": opening["id"]})
    assert acknowledged["status"] == "applied" and acknowledged["version"] == 2

    changes, _ = desk.device.pull_all()
    pulled = by_entity(changes)
    act = pulled["opening"][opening["id"]]
    assert act["members"] == MEMBERS[:2] and act["letters_count"] == 2 and act["seal"] == "intact"
    assert act["remarks"] == "Пломба бүтүн." and act["acknowledged_by"].startswith("Test director")
    assert pulled["meeting"][meeting["id"]]["held_on"] == day(4)
    first, second = pulled["appeal"][signed], pulled["appeal"][hidden]
    assert (first["status"], first["answered_on"], first["closed_on"]) == ("closed", day(4), day(6))
    assert (second["status"], second["answered_on"], second["closed_on"]) == ("answered", day(4), None)
    assert first["opening_id"] == second["opening_id"] == opening["id"]
    assert [d["official"] for d in first["contents"]["case"]["decisions"]] == [MEMBERS[1]]
    assert first["contents"]["case"]["referrals"][0]["feedback"] == {"received_on": day(5), "text": "Иш жүргүзүлдү."}
    notice = second["contents"]["case"]["answers"][0]
    assert (notice["way"], notice["posted_on"], notice["removed_on"]) == ("stand", day(4), day(6))
    assert second["contents"]["receipt_code"] == "7K3M9Q"
    assert [h["type"] for h in first["history"]][-2:] == ["appeal.measure_recorded", "appeal.closed"]

    with app.app_context():
        assert verify.first_break() is None
        assert db.session.query(Opening).one().acknowledged_at is not None
        assert db.session.query(Meeting).count() == 1


def test_only_the_director_acknowledges_and_the_director_records_nothing_else(factory, school, desk):
    opening = desk.opening()
    with pytest.raises(SyncError) as refused:
        desk.send("opening.acknowledged", None, {"opening_id": opening["id"]})
    assert (refused.value.status, refused.value.code) == (403, "role_not_allowed")
    device = factory.device(Role.DIRECTOR, school)
    for type, data in [
        (
            "opening.recorded",
            {"opened_at": f"{day(0)}T08:00:00+06:00", "members": MEMBERS, "letters_count": 0, "seal": "intact"},
        ),
        ("meeting.recorded", {"held_on": day(4), "members_present": [{**m, "confirmed": True} for m in MEMBERS]}),
    ]:
        with pytest.raises(SyncError) as refused:
            Desk(device).send(type, None, data)  # a fresh outbox: a refused push leaves its batch pending
        assert (refused.value.status, refused.value.code) == (403, "role_not_allowed")
    director = Desk(device)
    assert director.send("opening.acknowledged", None, {"opening_id": opening["id"]})["status"] == "applied"
    again = director.send("opening.acknowledged", None, {"opening_id": opening["id"]})
    assert (again["status"], again["error"]) == ("rejected", "acknowledged_already")


def test_a_commission_member_records_decisions_but_not_letters(factory, school, desk):
    appeal_id = desk.register(registration(received_on=day(0)))
    member = Desk(factory.device(Role.COMMISSION, school))
    meeting = member.meeting(day(4))
    member.versions[appeal_id] = 1
    decision = {"meeting_id": meeting["id"], "decision": "Сүйлөшүү.", "official": MEMBERS[0]}
    assert member.send("appeal.decided", appeal_id, decision)["status"] == "applied"
    with pytest.raises(SyncError) as refused:
        member.send("appeal.registered", str(uuid.uuid4()), registration())
    assert refused.value.code == "role_not_allowed"


def test_quorum_is_the_schools_setting(app, school, desk):
    two = MEMBERS[:2]
    assert (desk.meeting(day(4), two)["error"]) == "no_quorum"
    set_settings(app, school, quorum=2)
    assert desk.meeting(day(4), two)["status"] == "applied"
    unconfirmed = [{**MEMBERS[0], "confirmed": True}, {**MEMBERS[1], "confirmed": False}]
    refused = desk.send("meeting.recorded", None, {"held_on": day(4), "members_present": unconfirmed})
    assert refused["error"] == "member_not_confirmed"


def test_an_answer_before_the_letter_was_received_is_refused_and_changes_nothing(app, desk):
    appeal_id = desk.register(registration(received_on=day(2)))
    early = {"answered_on": day(1), "way": "in_person", "kind": "answer", "text": "Жооп."}
    assert desk.send("appeal.answered", appeal_id, early)["error"] == "date_before_received"
    with app.app_context():
        appeal = db.session.query(Appeal).one()
        assert (appeal.status, appeal.version, appeal.answered_on) == ("registered", 1, None)
        assert db.session.query(Event).count() == 1


def test_an_anonymous_letter_is_answered_on_the_stand_and_a_signed_one_in_person(desk):
    hidden = desk.register(anonymous_registration(received_on=day(0)))
    signed = desk.register(registration(received_on=day(0)))
    answer = {"answered_on": day(1), "kind": "answer", "text": "Жооп."}
    assert desk.send("appeal.answered", hidden, {**answer, "way": "in_person"})["error"] == "anonymous_in_person"
    assert desk.send("appeal.answered", signed, {**answer, "way": "stand"})["error"] == "signed_on_stand"
    invitation = {"answered_on": day(1), "way": "stand", "kind": "invitation", "text": None}
    assert desk.send("appeal.answered", hidden, invitation)["status"] == "applied"
    assert desk.send("appeal.answered", signed, {**answer, "way": "in_person"})["status"] == "applied"


def test_a_letter_not_accepted_is_numbered_and_counted_but_has_no_deadline_and_no_case_work(desk):
    first = desk.register(registration(received_on=day(0)))
    refused = desk.register(anonymous_registration(received_on=day(0)))
    third = desk.register(registration(received_on=day(0)))
    assert (
        desk.send("appeal.not_accepted", refused, {"decided_on": day(0), "reason": "Уят сөздөр."})["status"]
        == "applied"
    )
    answer = {"answered_on": day(1), "way": "stand", "kind": "answer", "text": "Жооп."}
    assert desk.send("appeal.answered", refused, answer)["error"] == "appeal_not_accepted"
    pulled = by_entity(desk.device.pull_all()[0])["appeal"]
    assert [pulled[a]["serial_no"] for a in (first, refused, third)] == [1, 2, 3]
    assert pulled[refused]["status"] == "not_accepted" and pulled[refused]["due_on"] is None
    assert pulled[first]["due_on"] is not None
    assert pulled[refused]["contents"]["case"]["not_accepted"] == {"decided_on": day(0), "reason": "Уят сөздөр."}


def test_a_decision_names_a_meeting_of_this_school(factory, school, desk):
    appeal_id = desk.register(registration(received_on=day(0)))
    elsewhere = Desk(factory.device(Role.PEDAGOGUE)).meeting(day(4))
    decision = {"meeting_id": elsewhere["id"], "decision": "Сүйлөшүү.", "official": MEMBERS[0]}
    assert desk.send("appeal.decided", appeal_id, decision)["error"] == "meeting_not_found"
    before = desk.meeting(day(-1))
    assert desk.send("appeal.decided", appeal_id, {**decision, "meeting_id": before["id"]})["error"] == (
        "date_before_received"
    )


def due_on(desk: Desk, received_on: str) -> str:
    appeal_id = desk.register(registration(received_on=received_on))
    pulled = by_entity(desk.device.pull_all()[0])["appeal"][appeal_id]
    assert isinstance(pulled["due_on"], str)
    return pulled["due_on"]


def test_deadlines_count_kyrgyz_holidays_and_the_admins_changes(app, school, desk):
    # Tuesday 30 December 2025: 31 December, then 1-7 January 2026 are public holidays (package holidays, KG).
    assert due_on(desk, "2025-12-30") == "2026-01-13"
    # Wednesday 18 March 2026: Eid al-Fitr on Friday 20 March; Nooruz on Saturday 21 March.
    assert due_on(desk, "2026-03-18") == "2026-03-26"
    # A transferred working day (Saturday 3 January) counts; an extra day off (Monday 12 January) does not.
    set_settings(app, school, working_days=["2026-01-03"], days_off=["2026-01-12"])
    assert due_on(desk, "2025-12-30") == "2026-01-13"
    set_settings(app, school, working_days=["2026-01-03"], days_off=[])
    assert due_on(desk, "2025-12-30") == "2026-01-12"
    # Six working days a week and three days to answer.
    set_settings(app, school, working_days=[], week=6, due_in_days=3)
    assert due_on(desk, "2026-03-18") == "2026-03-24"


def test_the_pull_publishes_the_calendar_of_this_and_the_next_school_year(app, school, desk):
    set_settings(app, school, days_off=["2026-10-05"], working_days=["2026-11-01"])
    calendar = desk.device.pull()["calendar"]
    assert calendar["week"] == 5 and calendar["due_in_days"] == 5
    assert calendar["days_off"] == ["2026-10-05"] and calendar["working_days"] == ["2026-11-01"]
    today = school_today()
    this_year = today.year if today.month >= 9 else today.year - 1
    years = {int(day[:4]) for day in calendar["holidays"]}
    assert {this_year, this_year + 1, this_year + 2} <= years
    assert f"{this_year + 1}-01-01" in calendar["holidays"] and f"{this_year + 2}-03-21" in calendar["holidays"]


def test_a_letter_names_an_opening_of_this_school_and_comes_out_no_earlier(factory, desk):
    opening = desk.opening(opened_at=f"{day(1)}T08:00:00+06:00")
    elsewhere = Desk(factory.device(Role.PEDAGOGUE)).opening()
    assert (
        desk.send("appeal.registered", str(uuid.uuid4()), registration(received_on=day(1), opening_id=elsewhere["id"]))[
            "error"
        ]
        == "opening_not_found"
    )
    early = desk.send(
        "appeal.registered", str(uuid.uuid4()), registration(received_on=day(0), opening_id=opening["id"])
    )
    assert early["error"] == "received_before_opening"
    appeal_id = desk.register(registration(received_on=day(1), opening_id=opening["id"]))
    moved = desk.send("appeal.amended", appeal_id, {"changes": {"received_on": day(0)}, "reason": "Ката."})
    assert moved["error"] == "received_before_opening"


def test_the_monthly_information_is_marked_presented_once_a_month(app, factory, school, desk):
    first = desk.send("report.presented", None, {"month": "2025-03"})
    assert first["status"] == "applied" and first["version"] == 1
    assert desk.send("report.presented", None, {"month": "2025-03"})["error"] == "presented_already"
    future = (school_today().replace(day=1) + dt.timedelta(days=40)).strftime("%Y-%m")
    assert desk.send("report.presented", None, {"month": future})["error"] == "date_in_future"
    with pytest.raises(SyncError) as refused:
        Desk(factory.device(Role.DIRECTOR, school)).send("report.presented", None, {"month": "2025-04"})
    assert refused.value.code == "role_not_allowed"
    reports = by_entity(desk.device.pull_all()[0])["report"]
    assert [(r["month"], r["recorded_by"].startswith("Test pedagogue")) for r in reports.values()] == [
        ("2025-03", True)
    ]
    with app.app_context():
        assert verify.first_break() is None
