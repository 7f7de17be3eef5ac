"""A school's settings, read with their defaults."""

from __future__ import annotations

from typing import Any

from server.models import School
from sync.schemas import SchoolSettingsSchema


def settings_of(school: School) -> dict[str, Any]:
    """The school's settings, every key present: stored values over the defaults."""
    settings: dict[str, Any] = SchoolSettingsSchema().load(school.settings or {})
    return settings


def describe(school: School) -> dict[str, Any]:
    return {"id": school.uuid, "name": school.name, **settings_of(school)}
