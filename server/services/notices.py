"""The director's notices of accounts that read letters: every account of a role that pulls contents
(pedagogue, commission) stays listed until the director acknowledges it, and the acknowledgement is itself
an entry of the audit trail. Accounts made before the notices existed count as acknowledged when made."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.db import db
from server.errors import NotFound
from server.models import School, User, utcnow
from server.services import audit_log
from server.services.accounts import Actor
from sync.events import ROLES_READING_CONTENTS

READING_ROLES = tuple(sorted(role.value for role in ROLES_READING_CONTENTS))


def pending(school: School) -> list[dict[str, Any]]:
    """The accounts not yet acknowledged, newest first, with who created them (None: the command line)."""
    query = (
        select(User)
        .where(User.school_id == school.id, User.role.in_(READING_ROLES), User.access_acknowledged_at.is_(None))
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
    if user.role in READING_ROLES and user.access_acknowledged_at is None:
        user.access_acknowledged_at = utcnow()
        audit_log.append(actor.school.id, "access_acknowledged", audit_log.Who.of(actor), target_user=user)
    return pending(actor.school)
