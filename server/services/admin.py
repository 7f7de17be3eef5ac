"""The school's administration: accounts, devices and settings, each scoped to the admin's own school."""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from server.db import db
from server.errors import ApiError, Conflict, Invalid, NotFound
from server.models import Device, School, User, utcnow
from server.services import accounts, schools
from sync.events import Role


def users(school: School) -> list[User]:
    return list(db.session.scalars(select(User).where(User.school_id == school.id).order_by(User.full_name)))


def _user(school: School, user_id: uuid.UUID) -> User:
    user = db.session.scalar(select(User).where(User.uuid == user_id, User.school_id == school.id))
    if user is None:
        raise NotFound("No such user in this school.", code="user_not_found")
    return user


def create_user(school: School, role: Role, username: str, full_name: str, password: str) -> User:
    try:
        return accounts.create_user(school, role, username, full_name, password)
    except ApiError as error:
        if error.code == "username_taken":
            raise Conflict(error.message, code=error.code) from None
        raise


def set_disabled(actor: accounts.Actor, user_id: uuid.UUID, disabled: bool) -> User:
    """Disable or enable an account; disabled, its tokens stop working at the next request."""
    user = _user(actor.school, user_id)
    if disabled and user.id == actor.user.id:
        raise Conflict("An admin cannot disable their own account.", code="own_account")
    user.disabled_at = (user.disabled_at or utcnow()) if disabled else None
    db.session.flush()
    return user


def reset_password(school: School, user_id: uuid.UUID, password: str) -> User:
    """A new password; every device of the user must log in again (their tokens are revoked)."""
    user = _user(school, user_id)
    user.password_hash = accounts.hash_password(password)
    now = utcnow()
    for device in db.session.scalars(select(Device).where(Device.user_id == user.id, Device.revoked_at.is_(None))):
        device.revoked_at = now
    db.session.flush()
    return user


def devices(school: School) -> list[Device]:
    return list(
        db.session.scalars(select(Device).where(Device.school_id == school.id).order_by(Device.created_at.desc()))
    )


def revoke(school: School, device_id: uuid.UUID) -> Device:
    device = db.session.scalar(select(Device).where(Device.uuid == device_id, Device.school_id == school.id))
    if device is None:
        raise NotFound("No such device in this school.", code="device_not_found")
    return accounts.revoke_device(device.uuid) or device


def settings(school: School) -> dict[str, Any]:
    return {
        "name": school.name,
        "director_reads_contents": school.director_reads_contents,
        **schools.settings_of(school),
    }


def update_settings(school: School, changes: Any) -> dict[str, Any]:
    """Change some settings; all are checked together and nothing changes when one is wrong (422)."""
    if not isinstance(changes, dict) or not changes:
        raise Invalid("Name the settings to change.", fields={"_schema": ["An object of settings."]})
    rest = dict(changes)
    name = rest.pop("name", None)
    reads = rest.pop("director_reads_contents", None)
    problems: dict[str, Any] = {}
    if "name" in changes and not (isinstance(name, str) and name.strip() and len(name) <= 200 and "\x00" not in name):
        problems["name"] = ["1 to 200 characters."]
    if "director_reads_contents" in changes and not isinstance(reads, bool):
        problems["director_reads_contents"] = ["Not a valid boolean."]
    try:
        schools.check_settings({**(school.settings or {}), **rest})
    except ValidationError as error:
        problems.update(error.messages if isinstance(error.messages, dict) else {"_schema": error.messages})
    if problems:
        raise Invalid("Some settings are not valid.", fields=problems)
    schools.update_settings(school, rest)
    if name is not None:
        school.name = name.strip()
    if reads is not None:
        school.director_reads_contents = reads
    db.session.flush()
    return settings(school)
