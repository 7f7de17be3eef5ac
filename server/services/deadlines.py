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


def published_years(today: dt.date) -> tuple[int, ...]:
    """Calendar years covering last school year (its cases may still be open), this one and the next."""
    first = school_year(today) - 1
    return tuple(range(first, first + 4))


def work_calendar(settings: dict[str, Any], today: dt.date) -> WorkCalendar:
    """The calendar a school's settings (``schools.settings_of``) give around ``today``."""
    return WorkCalendar(
        week=settings["week"],
        holidays=public_holidays(published_years(today)),
        days_off=settings["days_off"],
        working_days=settings["working_days"],
    )


def published(calendar: WorkCalendar, settings: dict[str, Any]) -> dict[str, Any]:
    """The calendar as the pull carries it, with the number of working days an answer may take."""
    return {**calendar.to_json(), "due_in_days": settings["due_in_days"]}
