"""The school's administration: accounts, devices and settings, each scoped to the admin's own school.

Every change is an entry of the school's audit trail (``audit_log``), written in the same transaction:
from the admin's calls here, and from the command line (``server/cli.py``) with the operator instead of a
user. A director's account is protected from the admin (409 ``director_protected``): only the command
line disables it or sets its password.
"""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from server.db import db
from server.errors import ApiError, Conflict, Invalid, NotFound
from server.models import Device, School, User
from server.services import accounts, audit_log, schools
from server.services.audit_log import Who
from sync.events import Role
from sync.schemas import SchoolSettingsSchema


def users(school: School) -> list[User]:
    return list(db.session.scalars(select(User).where(User.school_id == school.id).order_by(User.full_name)))


def _user(school: School, user_id: uuid.UUID) -> User:
    user = db.session.scalar(select(User).where(User.uuid == user_id, User.school_id == school.id))
    if user is None:
        raise NotFound("No such user in this school.", code="user_not_found")
    return user


def _not_a_director(user: User) -> None:
    if user.role == Role.DIRECTOR:
        raise Conflict("The director's account is changed only from the command line.", code="director_protected")


def create_user(school: School, who: Who, role: Role, username: str, full_name: str, password: str) -> User:
    try:
        user = accounts.create_user(school, role, username, full_name, password, created_by=who.user)
    except ApiError as error:
        if error.code == "username_taken":
            raise Conflict(error.message, code=error.code) from None
        raise
    audit_log.append(school.id, "user_created", who, target_user=user)
    return user


def set_disabled(actor: accounts.Actor, user_id: uuid.UUID, disabled: bool) -> User:
    """The admin disables or enables an account; disabled, its tokens stop working at the next request."""
    user = _user(actor.school, user_id)
    if disabled and user.id == actor.user.id:
        raise Conflict("An admin cannot disable their own account.", code="own_account")
    if disabled:
        _not_a_director(user)
    return change_disabled(actor.school, Who.of(actor), user, disabled)


def change_disabled(school: School, who: Who, user: User, disabled: bool) -> User:
    """Disable or enable an account and record it, when that changes anything."""
    if accounts.set_disabled(user, disabled):
        audit_log.append(school.id, "user_disabled" if disabled else "user_enabled", who, target_user=user)
    return user


def reset_password(actor: accounts.Actor, user_id: uuid.UUID, password: str) -> User:
    """The admin sets a new password; every device of the user must log in again (with it)."""
    user = _user(actor.school, user_id)
    _not_a_director(user)
    return set_password(actor.school, Who.of(actor), user, password)


def set_password(school: School, who: Who, user: User, password: str) -> User:
    accounts.reset_password(user, password)
    audit_log.append(school.id, "password_reset", who, target_user=user)
    return user


def devices(school: School) -> list[Device]:
    return list(
        db.session.scalars(select(Device).where(Device.school_id == school.id).order_by(Device.created_at.desc()))
    )


def _device(school: School, device_id: uuid.UUID) -> Device:
    device = db.session.scalar(select(Device).where(Device.uuid == device_id, Device.school_id == school.id))
    if device is None:
        raise NotFound("No such device in this school.", code="device_not_found")
    return device


def revoke(school: School, who: Who, device_id: uuid.UUID) -> Device:
    device = _device(school, device_id)
    if device.revoked_at is None:
        record_revocation(who, accounts.revoke_device(device.uuid) or device)
    return device


def record_revocation(who: Who, device: Device) -> None:
    """The audit entry of a device just revoked; a district's device belongs to no school's trail."""
    if device.school_id is not None:
        audit_log.append(device.school_id, "device_revoked", who, target_user=device.user, target_device=device)


def readmit(school: School, who: Who, device_id: uuid.UUID) -> Device:
    """Let a revoked device log in again (its old token stays dead); a device not revoked is left as it is."""
    device = _device(school, device_id)
    if accounts.readmit_device(device):
        audit_log.append(school.id, "device_readmitted", who, target_user=device.user, target_device=device)
    return device


def settings(school: School) -> dict[str, Any]:
    return {
        "name": school.name,
        "director_reads_contents": school.director_reads_contents,
        **schools.settings_of(school),
    }


def snapshot(school: School) -> dict[str, Any]:
    """Every setting's value as plain JSON, to compare before and after a change."""
    return {
        "name": school.name,
        "director_reads_contents": school.director_reads_contents,
        **SchoolSettingsSchema().dump(schools.settings_of(school)),
    }


def record_settings(school: School, who: Who, before: dict[str, Any]) -> None:
    """The audit entry of a change of settings: each setting whose value changed, before and after."""
    after = snapshot(school)
    changes = [
        {"setting": name, "before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    if changes:
        audit_log.append(school.id, "settings_changed", who, details={"changes": changes})


def update_settings(school: School, who: Who, changes: Any) -> dict[str, Any]:
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
    before = snapshot(school)
    schools.update_settings(school, rest)
    if name is not None:
        school.name = name.strip()
    if reads is not None:
        school.director_reads_contents = reads
    db.session.flush()
    record_settings(school, who, before)
    return settings(school)
