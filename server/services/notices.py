"""The director's notices of accounts that read letters: every account of a role that pulls contents
(pedagogue, commission) stays listed until the director acknowledges it, and the acknowledgement is itself
an entry of the audit trail. Accounts made before the notices existed count as acknowledged when made.

A director's account made from the admin screen is listed too: with ``director_reads_contents`` on it reads
letters. Its own holder may acknowledge it only as the school's one active director (a new school's first
director, made by its admin); beside another director, that other one must, so an admin cannot make a
second director who clears their own notice."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from server.db import db
from server.errors import Conflict, NotFound
from server.models import School, User, utcnow
from server.services import audit_log
from server.services.accounts import Actor
from sync.events import ROLES_READING_CONTENTS, Role

READING_ROLES = tuple(sorted(role.value for role in ROLES_READING_CONTENTS))
# Accounts listed: those of the reading roles, and directors the admin made (see the module's docstring).
_LISTED = or_(User.role.in_(READING_ROLES), and_(User.role == Role.DIRECTOR.value, User.created_by_id.is_not(None)))


def pending(school: School) -> list[dict[str, Any]]:
    """The accounts not yet acknowledged, newest first, with who created them (None: the command line)."""
    query = (
        select(User)
        .where(User.school_id == school.id, _LISTED, User.access_acknowledged_at.is_(None))
        .options(joinedload(User.created_by))
        .order_by(User.created_at.desc(), User.id.desc())
    )
    return [
        {
            "user": audit_log.account(user),
            "created_by": None
            if user.created_by is None
            else {"full_name": user.created_by.full_name, "role": user.created_by.role},
            "created_at": user.created_at,
        }
        for user in db.session.scalars(query)
    ]


def acknowledge(actor: Actor, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The director acknowledges an account's access (once: again changes nothing); the notices left."""
    user = db.session.scalar(select(User).where(User.uuid == user_id, User.school_id == actor.school.id))
    if user is None:
        raise NotFound("No such user in this school.", code="user_not_found")
    if user.id == actor.user.id and _other_directors(actor) > 0:
        raise Conflict("Another director acknowledges this account.", code="own_account")
    listed = user.role in READING_ROLES or (user.role == Role.DIRECTOR and user.created_by_id is not None)
    if listed and user.access_acknowledged_at is None:
        user.access_acknowledged_at = utcnow()
        audit_log.append(actor.school.id, "access_acknowledged", audit_log.Who.of(actor), target_user=user)
    return pending(actor.school)


def _other_directors(actor: Actor) -> int:
    """The school's active directors other than the caller."""
    query = select(func.count(User.id)).where(
        User.school_id == actor.school.id,
        User.role == Role.DIRECTOR.value,
        User.disabled_at.is_(None),
        User.id != actor.user.id,
    )
    return db.session.scalar(query) or 0
