"""Letters opened on the tablets: each opening a tablet sends is one entry of the school's audit trail.

A pull's deliveries say which letters reached a device; a view says that someone opened one there, and
when. The tablet records the opening offline and sends it later under an id of its own, so sending the
same view again records it once (``recorded``), and another view under a used id is refused (``id_reused``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.db import db
from server.models import Appeal, AuditEntry, School, User, utcnow
from server.services import audit, audit_log, journal
from server.services.accounts import Actor

# How far ahead of the server's clock a tablet's clock may run.
CLOCK_SKEW = dt.timedelta(minutes=5)


def _same(entry: AuditEntry, actor: Actor, appeal: Appeal | None, viewed_at: str) -> bool:
    return (
        entry.kind == audit_log.VIEWED
        and entry.school_id == actor.school.id
        and entry.device_id == actor.device.id
        and appeal is not None
        and entry.appeal_id == appeal.id
        and entry.details.get("viewed_at") == viewed_at
    )


def record(actor: Actor, views: list[dict[str, Any]]) -> dict[str, Any]:
    """Record the views (``id``, ``appeal_id``, ``viewed_at``) of the caller on the caller's device, each on
    its own: ``recorded`` holds the ids now stored or stored before as the same view, ``refused`` the others
    with their reason."""
    ids = {view["id"] for view in views}
    known = {e.uuid: e for e in db.session.scalars(select(AuditEntry).where(AuditEntry.uuid.in_(ids)))}
    wanted = {view["appeal_id"] for view in views}
    appeals = {
        a.uuid: a
        for a in db.session.scalars(select(Appeal).where(Appeal.school_id == actor.school.id, Appeal.uuid.in_(wanted)))
    }
    latest = utcnow() + CLOCK_SKEW
    recorded: list[uuid.UUID] = []
    refused: list[dict[str, Any]] = []
    for view in views:
        appeal = appeals.get(view["appeal_id"])
        viewed_at = journal.utc_text(view["viewed_at"])
        entry = known.get(view["id"])
        if entry is not None:
            if _same(entry, actor, appeal, viewed_at):
                recorded.append(view["id"])
            else:
                refused.append({"id": view["id"], "error": "id_reused"})
        elif appeal is None:
            refused.append({"id": view["id"], "error": "appeal_not_found"})
        elif view["viewed_at"] > latest:
            refused.append({"id": view["id"], "error": "date_in_future"})
        else:
            known[view["id"]] = audit_log.append(
                actor.school.id,
                audit_log.VIEWED,
                audit_log.Who.of(actor),
                appeal=appeal,
                details={"viewed_at": viewed_at},
                entry_id=view["id"],
            )
            recorded.append(view["id"])
    return {"recorded": recorded, "refused": refused}


def _viewed_at(entry: AuditEntry) -> dt.datetime:
    return dt.datetime.fromisoformat(str(entry.details["viewed_at"]))


def entries(
    school: School, user: uuid.UUID | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict[str, Any]]:
    """Who opened which letter (by its number), on which device and when, newest first; filtered by user
    and by the period (the school's dates) the letter was opened in."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.school_id == school.id, AuditEntry.kind == audit_log.VIEWED)
        .options(joinedload(AuditEntry.user), joinedload(AuditEntry.device), joinedload(AuditEntry.appeal))
    )
    if user is not None:
        query = query.where(AuditEntry.user.has(User.uuid == user))
    low, high = audit.period(school, start, end)
    if low is not None:  # a view is recorded at most the clock's skew before it happened, often long after
        query = query.where(AuditEntry.at >= low - CLOCK_SKEW)
    found = []
    for entry in db.session.scalars(query):
        viewed_at = _viewed_at(entry)
        if (low is not None and viewed_at < low) or (high is not None and viewed_at >= high):
            continue
        assert entry.appeal is not None and entry.user is not None and entry.device is not None
        found.append(
            (
                (viewed_at, entry.position),
                {
                    "viewed_at": viewed_at,
                    "recorded_at": entry.at,
                    "user": audit_log.person(entry.user),
                    "device": audit_log.device(entry.device),
                    "school_year": entry.appeal.school_year,
                    "serial_no": entry.appeal.serial_no,
                },
            )
        )
    found.sort(key=lambda item: item[0], reverse=True)
    return [view for _, view in found]
