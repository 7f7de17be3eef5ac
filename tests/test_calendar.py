"""Working days and deadlines: ``sync/vectors/calendar.json`` replayed, then properties over random calendars."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.calendar import WorkCalendar
from tests.test_vectors import cases, load

CASE_KEYS = {"name", "calendar", "due_on", "is_working_day", "status", "working_days_between"}
ISO = dt.date.fromisoformat


@pytest.mark.parametrize("case", cases("calendar.json"))
def test_calendar_vectors(case):
    """Every expectation of a case holds for its calendar, and the calendar survives a JSON round trip."""
    assert set(case) == CASE_KEYS
    calendar = WorkCalendar.from_json(case["calendar"])
    assert calendar.to_json() == case["calendar"], "vector lists are sorted, as to_json writes them"
    for c in case["due_on"]:
        assert calendar.due_on(ISO(c["received_on"]), c["n"]).isoformat() == c["expected"], c
    for c in case["is_working_day"]:
        assert calendar.is_working_day(ISO(c["date"])) is c["expected"], c
    for c in case["status"]:
        assert calendar.status(ISO(c["due_on"]), ISO(c["today"])) == c["expected"], c
    for c in case["working_days_between"]:
        assert calendar.working_days_between(ISO(c["start"]), ISO(c["end"])) == c["expected"], c


def test_calendar_vectors_cover_what_the_regulation_needs():
    """The cases a port gets wrong stay in the file: six-day week, transfers, days off, n = 1 and 5, every status."""
    all_cases = load("calendar.json")["cases"]
    assert {c["calendar"]["week"] for c in all_cases} == {5, 6}
    assert any(c["calendar"]["working_days"] for c in all_cases)
    assert any(c["calendar"]["days_off"] for c in all_cases)
    assert {d["n"] for c in all_cases for d in c["due_on"]} >= {1, 5}
    assert {s["expected"] for c in all_cases for s in c["status"]} == {"on_time", "due_soon", "overdue"}
    received = {d["received_on"] for c in all_cases for d in c["due_on"]}
    assert {"2025-12-29", "2025-03-18"} <= received  # across New Year and Nooruz


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="week"):
        WorkCalendar(week=7)
    with pytest.raises(ValueError, match="n must be"):
        WorkCalendar().due_on(dt.date(2025, 9, 15), 0)
    for text in ("20250101", "2025-02-30", "15.09.2025"):
        with pytest.raises(ValueError):
            WorkCalendar.from_json({"holidays": [text]})


def test_default_is_five_working_days_in_a_monday_to_friday_week():
    assert WorkCalendar().due_on(dt.date(2025, 9, 15)) == dt.date(2025, 9, 22)
    assert WorkCalendar.from_json({}) == WorkCalendar()


# --- properties -------------------------------------------------------------------------------------------

START = dt.date(2025, 9, 1)
days = st.integers(min_value=0, max_value=120).map(lambda i: START + dt.timedelta(days=i))
calendars = st.builds(
    WorkCalendar,
    week=st.sampled_from([5, 6]),
    holidays=st.frozensets(days, max_size=40),
    days_off=st.frozensets(days, max_size=15),
    working_days=st.frozensets(days, max_size=15),
)


@given(calendar=calendars, received_on=days, n=st.integers(min_value=1, max_value=15))
def test_due_on_is_the_nth_working_day_after_receipt(calendar, received_on, n):
    """due_on is a working day, strictly after receipt, with exactly n working days in (received_on, due_on]."""
    due = calendar.due_on(received_on, n)
    assert calendar.is_working_day(due)
    assert due > received_on
    assert calendar.working_days_between(received_on, due) == n
    assert calendar.status(due, due) == "due_soon"
    assert calendar.status(due, due + dt.timedelta(days=1)) == "overdue"


@given(calendar=calendars)
def test_json_round_trip(calendar):
    assert WorkCalendar.from_json(calendar.to_json()) == calendar
