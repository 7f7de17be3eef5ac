"""Today as the school sees it, for every test: the host's clock and time zone never name a day.

The server dates a letter on its school's calendar (``journal.school_today``) and the tablet on its own
clock, which is set to the school's zone. A test that took its day from the host's calendar would
disagree with both whenever the host's date is not Bishkek's, from 18:00 UTC on for a host on UTC; so a
test takes "today" from here, computed when it is asked (a run may cross the school's midnight).

``python -m tests.clock`` prints a host time zone whose date is not the school's at this moment
(``make test-other-zone`` runs the browser and JavaScript tests in it): Pacific/Kiritimati (UTC+14) from
10:00 to 18:00 UTC, when it is already tomorrow there, and Pacific/Pago_Pago (UTC-11), still yesterday,
otherwise.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from server.models import School

# The zone of every school the tests make: a new school's (the column's default, never set by the factory).
SCHOOL_ZONE = ZoneInfo(School.__table__.c.timezone.default.arg)


def school_today() -> dt.date:
    """The date in the school's zone at this moment."""
    return dt.datetime.now(SCHOOL_ZONE).date()


OTHER_ZONES = (ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago"))


def other_zone(now: dt.datetime) -> ZoneInfo:
    """The first of ``OTHER_ZONES`` whose date at ``now`` is not the school's."""
    return next(zone for zone in OTHER_ZONES if now.astimezone(zone).date() != now.astimezone(SCHOOL_ZONE).date())


if __name__ == "__main__":
    print(other_zone(dt.datetime.now(dt.UTC)).key)
