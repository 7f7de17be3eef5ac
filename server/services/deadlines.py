"""The school's working-day calendar: Kyrgyz public holidays, the school's week and the admin's changes.

The rules of the calendar are in ``sync/calendar.py``; this module only gathers its inputs. The pull
publishes the result (``published``), so that the tablets count the same deadlines offline.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import holidays

from sync.calendar import WorkCalendar
from sync.rules import school_year


@functools.lru_cache(maxsize=16)
def public_holidays(years: tuple[int, ...]) -> frozenset[dt.date]:
    """Kyrgyz public holidays of these calendar years, as the ``holidays`` package knows them.

    Days the government moves by decree after the package was released are added by the admin as days
    off or transferred working days (school settings).
    """
    return frozenset(holidays.country_holidays("KG", years=years, categories=("public",)))


def calendar_years(today: dt.date, since: dt.date | None = None) -> tuple[int, ...]:
    """Calendar years covering last school year (its cases may still be open), this one and the next,
    and back to ``since`` (the oldest letter a caller counts a deadline for)."""
    first = school_year(today) - 1
    if since is not None:
        first = min(first, since.year)
    return tuple(range(first, school_year(today) + 3))


def work_calendar(settings: dict[str, Any], years: tuple[int, ...]) -> WorkCalendar:
    """The calendar a school's settings (``schools.settings_of``) give, with the holidays of ``years``."""
    return WorkCalendar(
        week=settings["week"],
        holidays=public_holidays(years),
        days_off=settings["days_off"],
        working_days=settings["working_days"],
    )


def published(calendar: WorkCalendar, settings: dict[str, Any]) -> dict[str, Any]:
    """The calendar as the pull carries it, with the number of working days an answer may take."""
    return {**calendar.to_json(), "due_in_days": settings["due_in_days"]}
