"""A school's settings, read with their defaults."""

from __future__ import annotations

from typing import Any

from server.models import School
from sync.schemas import SchoolSettingsSchema

# One instance for every call: every pull reads the settings, and building the schema cost more than
# loading them. Loading leaves the instance unchanged, so threads share it.
_SETTINGS = SchoolSettingsSchema()


def settings_of(school: School) -> dict[str, Any]:
    """The school's settings, every key present: stored values over the defaults."""
    settings: dict[str, Any] = _SETTINGS.load(school.settings or {})
    return settings


def update_settings(school: School, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into the stored settings, all checked together; raises ``ValidationError``.

    Stored as given (plain JSON), so a default that changes later still applies to keys never set.
    """
    merged = {**(school.settings or {}), **changes}
    check_settings(merged)
    school.settings = merged
    return settings_of(school)


def check_settings(settings: dict[str, Any]) -> None:
    """Raise ``ValidationError`` unless ``settings`` (plain JSON) are a valid set; unknown keys are refused."""
    _SETTINGS.load(settings)


def describe(school: School) -> dict[str, Any]:
    return {"id": school.uuid, "name": school.name, **settings_of(school)}
