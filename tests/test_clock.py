"""The tests' clock: the host zone ``make test-other-zone`` picks never shares the school's date."""

from __future__ import annotations

import datetime as dt

from tests.clock import SCHOOL_ZONE, other_zone


def test_the_other_zone_is_on_another_date_than_the_school_at_every_hour() -> None:
    midnight = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    for now in (midnight + dt.timedelta(minutes=m) for m in range(0, 24 * 60, 15)):
        zone = other_zone(now)
        assert now.astimezone(zone).date() != now.astimezone(SCHOOL_ZONE).date(), now
        assert zone.key == ("Pacific/Kiritimati" if 10 <= now.hour < 18 else "Pacific/Pago_Pago"), now
