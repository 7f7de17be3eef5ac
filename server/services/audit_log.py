"""The audit trail of letter views and administrative actions: one append-only list per school, chained.

Each entry is written in the same transaction as what it records (an account created, a device revoked,
settings changed…; views arrive from the tablets, ``server/services/views.py``), hashed on the entry before
it from ``GENESIS`` to ``schools.audit_head``. ``verify`` recomputes the chain, so a removed or altered
entry is named. This module appends and lists the actions; who may do what is decided by the callers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from server.db import db
from server.models import Appeal, AuditEntry, Device, School, User, utcnow
from server.services import audit, journal
from server.services.accounts import Actor
from sync.chain import chain_hash

VIEWED = "letter_viewed"
ACTIONS = (
    "user_created",
    "user_disabled",
    "user_enabled",
    "password_reset",
    "device_revoked",
    "device_readmitted",
    "settings_changed",
    "access_acknowledged",
)


@dataclass(frozen=True)
class Who:
    """Who acts: a user on a device (a call with a token), or the command line's operator ("cli:<user>")."""

    user: User | None = None
    device: Device | None = None
    operator: str | None = None

    @classmethod
    def of(cls, actor: Actor) -> Who:
        return cls(user=actor.user, device=actor.device)

    @classmethod
    def cli(cls, operator: str) -> Who:
        return cls(operator=operator)


def _uuid(row: User | Device | Appeal | None) -> str | None:
    return str(row.uuid) if row is not None else None


def chain_record(entry: AuditEntry, school: School) -> dict[str, Any]:
    """What the chain covers: every column of the entry, the rows it names by their uuids."""
    return {
        "v": 1,
        "school": str(school.uuid),
        "position": entry.position,
        "id": str(entry.uuid),
        "kind": entry.kind,
        "at": journal.utc_text(entry.at),
        "user": _uuid(entry.user),
        "device": _uuid(entry.device),
        "operator": entry.operator,
        "appeal": _uuid(entry.appeal),
        "target_user": _uuid(entry.target_user),
        "target_device": _uuid(entry.target_device),
        "details": entry.details,
    }


def append(
    school_id: int,
    kind: str,
    who: Who,
    *,
    appeal: Appeal | None = None,
    target_user: User | None = None,
    target_device: Device | None = None,
    details: dict[str, Any] | None = None,
    entry_id: uuid.UUID | None = None,
) -> AuditEntry:
    """Add one entry at the end of the school's chain. Takes the school's lock; the caller commits."""
    assert kind == VIEWED or kind in ACTIONS, kind
    db.session.flush()  # the lock re-reads the school's row: what the caller changed is written first
    school = journal.lock_school(school_id)
    entry = AuditEntry(
        uuid=entry_id or uuid.uuid4(),
        school_id=school.id,
        position=school.audit_length + 1,
        kind=kind,
        at=utcnow(),
        user=who.user,
        device=who.device,
        operator=who.operator,
        appeal=appeal,
        target_user=target_user,
        target_device=target_device,
        details=details or {},
        prev_hash=school.audit_head,
        hash="",
    )
    entry.hash = chain_hash(school.audit_head, chain_record(entry, school))
    school.audit_length, school.audit_head = entry.position, entry.hash
    db.session.add(entry)
    db.session.flush()
    return entry


def person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.uuid, "full_name": user.full_name, "role": user.role}


def account(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {**(person(user) or {}), "username": user.username}


def device(row: Device | None) -> dict[str, Any] | None:
    return None if row is None else {"id": row.uuid, "name": row.name}


def actions(
    school: School, user: uuid.UUID | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict[str, Any]]:
    """Every administrative action, newest first: who (or which operator), from which device, what, on
    which account or device, and for settings each one's value before and after. ``user`` keeps the
    actions that user took or that were taken on their account; the period is the school's local dates."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.school_id == school.id, AuditEntry.kind != VIEWED)
        .options(
            joinedload(AuditEntry.user),
            joinedload(AuditEntry.device),
            joinedload(AuditEntry.target_user),
            joinedload(AuditEntry.target_device),
        )
        .order_by(AuditEntry.position.desc())
    )
    if user is not None:
        someone = select(User.id).where(User.uuid == user).scalar_subquery()
        query = query.where(or_(AuditEntry.user_id == someone, AuditEntry.target_user_id == someone))
    low, high = audit.period(school, start, end)
    if low is not None:
        query = query.where(AuditEntry.at >= low)
    if high is not None:
        query = query.where(AuditEntry.at < high)
    return [
        {
            "at": entry.at,
            "by": person(entry.user),
            "operator": entry.operator,
            "device": device(entry.device),
            "action": entry.kind,
            "target": {"user": account(entry.target_user), "device": device(entry.target_device)},
            "changes": entry.details.get("changes", []),
        }
        for entry in db.session.scalars(query)
    ]
