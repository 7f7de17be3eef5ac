"""Schools, users, passwords (Argon2id), device tokens, and the rules of revocation.

A token is 256 random bits shown once to the device; the server keeps only its SHA-256, so a copy of
the database lets nobody act as a device.

Revocation: a revoked device logs in again (the same row, a fresh token) only once the admin re-admitted
it, or once the user's password was set at or after its revocation (a reset, or the user's own change).
Enabling a disabled account replaces the token digests of all its devices with unusable ones, so a token
from before the account was disabled never works again; the devices log in with the password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from server.db import begin_write, db
from server.errors import ApiError, Forbidden, Unauthorized
from server.models import Device, District, School, User, utcnow
from sync.events import Role

MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Actor:
    """Who is calling: the user, the device they called from, and their school."""

    user: User
    device: Device
    school: School

    @property
    def role(self) -> Role:
        return Role(self.user.role)


@dataclass(frozen=True)
class DistrictActor:
    """A district's viewer calling: the user, their device, and the district whose figures they read."""

    user: User
    device: Device
    district: District

    @property
    def role(self) -> Role:
        return Role(self.user.role)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    device: Device


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_KIB"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(f"A password has at least {MIN_PASSWORD_LENGTH} characters.", code="password_too_short")
    return _hasher().hash(password)


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_school(name: str) -> School:
    school = School(name=name)
    db.session.add(school)
    db.session.flush()
    return school


def unusable_token_digest() -> str:
    """A value for ``devices.token_hash`` that no token has: a SHA-256 digest is hex, this begins with '!'."""
    return "!" + secrets.token_hex(31)


def create_user(
    school: School, role: Role, username: str, full_name: str, password: str, created_by: User | None = None
) -> User:
    if role is Role.DISTRICT:
        raise ApiError("A district's viewer belongs to a district, not to a school.", code="role_not_allowed")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ApiError("This username is taken.", code="username_taken")
    user = User(
        school_id=school.id,
        role=role.value,
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        created_by_id=created_by.id if created_by is not None else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_disabled(user: User, disabled: bool) -> bool:
    """Disable or enable an account; whether that changed anything. Enabled again, every token its devices
    held before is dead (``invalid_token``): each device logs in again with the password."""
    if disabled == (user.disabled_at is not None):
        return False
    if disabled:
        user.disabled_at = utcnow()
    else:
        user.disabled_at = None
        for device in db.session.scalars(select(Device).where(Device.user_id == user.id)):
            device.token_hash = unusable_token_digest()
    db.session.flush()
    return True


def reset_password(user: User, password: str) -> None:
    """A password set for the user (by the admin or the operator): every device of theirs is revoked, and
    may log in again with the new password."""
    user.password_hash = hash_password(password)
    now = utcnow()
    user.password_changed_at = now
    for device in db.session.scalars(select(Device).where(Device.user_id == user.id, Device.revoked_at.is_(None))):
        device.revoked_at = now
    db.session.flush()


def readmit_device(device: Device) -> bool:
    """Let a revoked device log in again; whether it was revoked. Its old token stays dead."""
    if device.revoked_at is None:
        return False
    device.revoked_at = None
    device.token_hash = unusable_token_digest()
    db.session.flush()
    return True


def _may_return(device: Device, user: User) -> bool:
    """Whether a device may log in: not revoked, or revoked no later than the user's password was set."""
    changed = user.password_changed_at
    return device.revoked_at is None or (changed is not None and device.revoked_at <= changed)


def revoke_device(device_id: uuid.UUID) -> Device | None:
    """Make a device's token useless from the next request on; its delivered work stays."""
    device = db.session.scalar(select(Device).where(Device.uuid == device_id))
    if device is not None and device.revoked_at is None:
        device.revoked_at = utcnow()
        db.session.flush()
    return device


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def issue_token(username: str, password: str, device_name: str, device_id: uuid.UUID | None) -> IssuedToken:
    """Log in from a device: enrol a new one, or give a known one of this user a fresh token."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _hasher().hash(password)  # spend the same time as a real check: no telling who has an account
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    if not _password_matches(user.password_hash, password):
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    if user.disabled_at is not None:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    user_id = user.id
    begin_write()
    user = db.session.get_one(User, user_id)
    token = _new_token()
    expires_at = utcnow() + token_ttl()
    device = None
    if device_id is not None:
        device = db.session.scalar(select(Device).where(Device.uuid == device_id, Device.user_id == user.id))
        if device is None or not _may_return(device, user):
            raise Unauthorized("Not a device of this user, or revoked and not re-admitted.", code="device_revoked")
        device.token_hash, device.expires_at, device.name = token_digest(token), expires_at, device_name
        device.revoked_at = None
    else:
        device = Device(
            school_id=user.school_id,
            user_id=user.id,
            name=device_name,
            token_hash=token_digest(token),
            expires_at=expires_at,
        )
        db.session.add(device)
    db.session.flush()
    return IssuedToken(token=token, device=device)


def token_ttl() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["TOKEN_TTL_DAYS"])


def slide_due(device: Device) -> bool:
    """Whether a used device's expiry should move forward now: at most once a day, not at every request.

    With the default 30 days the expiry moves when less than 29 days are left; a short lifetime slides
    after half of it.
    """
    ttl = token_ttl()
    return device.expires_at < utcnow() + ttl - min(dt.timedelta(days=1), ttl / 2)


def slide_expiry(device_id: int) -> None:
    """Give a device's token a full lifetime from now; a revoked device stays revoked and never slides."""
    expires_at = utcnow() + token_ttl()
    db.session.execute(
        update(Device)
        .where(Device.id == device_id, Device.revoked_at.is_(None), Device.expires_at < expires_at)
        .values(expires_at=expires_at)
    )
    db.session.flush()


def change_password(user_id: int, device_id: int, current_password: str, new_password: str) -> int:
    """The user's own new password; every other device of theirs must log in again. Returns how many
    devices were revoked. The caller's device keeps its token: it proved the current password just now.

    Both Argon2 runs happen before the write lock is taken, as at login (``locks_itself``).
    """
    user = db.session.get_one(User, user_id)
    if not _password_matches(user.password_hash, current_password):
        raise Forbidden("The current password is wrong.", code="wrong_password")
    new_hash = hash_password(new_password)
    begin_write()
    user = db.session.get_one(User, user_id)
    device = db.session.get_one(Device, device_id)
    # Disabled or revoked while Argon2 ran: the request is as unauthenticated as the next one would be.
    if user.disabled_at is not None:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    if device.revoked_at is not None:
        raise Unauthorized("This device was revoked.", code="device_revoked")
    user.password_hash = new_hash
    now = utcnow()
    user.password_changed_at = now
    others = list(
        db.session.scalars(
            select(Device).where(Device.user_id == user_id, Device.id != device_id, Device.revoked_at.is_(None))
        )
    )
    for other in others:
        other.revoked_at = now
    db.session.flush()
    return len(others)


def authenticate(token: str) -> Actor | DistrictActor:
    """The actor behind a bearer token, or 401 when it is unknown, expired, revoked or its user disabled."""
    # Every request starts here: the device, its user and its school in one query rather than three.
    query = select(Device).where(Device.token_hash == token_digest(token))
    device = db.session.scalar(query.options(joinedload(Device.user), joinedload(Device.school)))
    if device is None:
        raise Unauthorized("Log in again.", code="invalid_token")
    if device.revoked_at is not None:
        raise Unauthorized("This device was revoked.", code="device_revoked")
    if device.expires_at <= utcnow():
        raise Unauthorized("The session expired; log in again.", code="token_expired")
    if device.user.disabled_at is not None:
        raise Unauthorized("This account is disabled.", code="account_disabled")
    if device.user.district is not None:
        return DistrictActor(user=device.user, device=device, district=device.user.district)
    assert device.school is not None  # a school's user's device belongs to the school (users.belongs)
    return Actor(user=device.user, device=device, school=device.school)


def create_district(name: str) -> District:
    district = District(name=name)
    db.session.add(district)
    db.session.flush()
    return district


def create_district_user(district: District, username: str, full_name: str, password: str) -> User:
    """A district's viewer: belongs to the district, not to a school."""
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ApiError("This username is taken.", code="username_taken")
    user = User(
        school_id=None,
        district_id=district.id,
        role=Role.DISTRICT.value,
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    return user
