"""The school's working-day calendar and the answer deadlines counted on it.

A letter's ``due_on`` is the N-th working day after the day it was received (regulation: the day of
receipt is not counted). Working days are the school's week minus public holidays minus the admin's
extra days off, plus transferred working days. Pure and standard library only: the server fills
``holidays`` from the ``holidays`` package (country KG) and publishes the calendar in the pull, and
``pwa/js/calendar.js`` computes the same dates offline; ``sync/vectors/calendar.json`` pins both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

WEEKS = (5, 6)  # Monday to Friday, or Monday to Saturday
DEFAULT_DUE_IN = 5  # working days to answer, a school setting
ONE_DAY = dt.timedelta(days=1)

Status = Literal["on_time", "due_soon", "overdue"]


def parse_day(text: str) -> dt.date:
    """A 'YYYY-MM-DD' date only: Python alone would also take '20250101', which the PWA refuses."""
    if not (isinstance(text, str) and len(text) == 10 and text[4] == text[7] == "-"):
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return dt.date.fromisoformat(text)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days the school works.

    Precedence, strongest first: an extra day off (the school is closed, whatever else the day is), a
    transferred working day (working even on a weekend or a listed holiday), a public holiday, the week.
    """

    week: int = 5
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    days_off: frozenset[dt.date] = field(default_factory=frozenset)
    working_days: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.week not in WEEKS:
            raise ValueError(f"week must be 5 or 6 working days, not {self.week!r}")
        # Accept any iterable of dates but store frozensets, so the calendar stays hashable and immutable.
        for name in ("holidays", "days_off", "working_days"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.days_off:
            return False
        if day in self.working_days:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < self.week  # Monday is 0

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        day += ONE_DAY
        # Terminates: the sets are finite, so weekdays past the last listed date are working.
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def due_on(self, received_on: dt.date, n: int = DEFAULT_DUE_IN) -> dt.date:
        """The n-th working day after ``received_on``; the day of receipt never counts, working or not."""
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        day = received_on
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: the days an answer took. Zero when ``end`` is not after ``start``."""
        count = 0
        day = start + ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += ONE_DAY
        return count

    def status(self, due_on: dt.date, today: dt.date) -> Status:
        """``overdue`` after the due day; ``due_soon`` with one working day or less left; else ``on_time``."""
        if today > due_on:
            return "overdue"
        # Counting working days rather than comparing with the next working day also holds when due_on
        # has become a day off since it was computed (the admin added one): nothing is left but that day.
        if self.working_days_between(today, due_on) <= 1:
            return "due_soon"
        return "on_time"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the pull: ISO dates in sorted lists, so equal calendars serialise equally."""
        return {
            "week": self.week,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "days_off": sorted(d.isoformat() for d in self.days_off),
            "working_days": sorted(d.isoformat() for d in self.working_days),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkCalendar:
        """The inverse of ``to_json``; missing lists are empty, a missing week is Monday to Friday."""
        return cls(
            week=data.get("week", 5),
            holidays=frozenset(parse_day(d) for d in data.get("holidays", ())),
            days_off=frozenset(parse_day(d) for d in data.get("days_off", ())),
            working_days=frozenset(parse_day(d) for d in data.get("working_days", ())),
        )
