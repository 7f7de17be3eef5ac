"""The audit trail of reads: every letter decrypted for a user is one entry, chained per school.

DESIGN.md: every read of confidential content on the server is an audit event (who, what, when),
hash-chained like the journal. A pull that carries contents writes one entry per letter it decrypts, in
the same transaction; ``verify`` recomputes the chain, so a removed or altered entry is named.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.db import db
from server.models import Appeal, Read, School, User, utcnow
from server.services import journal
from server.services.accounts import Actor
from sync.chain import chain_hash


def chain_record(read: Read, school: School) -> dict[str, Any]:
    """What the reads' chain covers: every column of the entry."""
    return {
        "v": 1,
        "school": str(school.uuid),
        "position": read.position,
        "user": str(read.user.uuid),
        "device": str(read.device.uuid),
        "appeal": str(read.appeal.uuid),
        "read_at": journal.utc_text(read.read_at),
    }


def record_reads(actor: Actor, appeal_ids: list[int]) -> None:
    """One chained entry per appeal (by row id) decrypted for ``actor``. Takes the school's lock."""
    if not appeal_ids:
        return
    school = journal.lock_school(actor.school.id)
    appeals = {appeal.id: appeal for appeal in db.session.scalars(select(Appeal).where(Appeal.id.in_(appeal_ids)))}
    now = utcnow()
    for appeal_id in appeal_ids:
        read = Read(
            school_id=school.id,
            position=school.reads_length + 1,
            user=actor.user,
            device=actor.device,
            appeal=appeals[appeal_id],
            read_at=now,
            prev_hash=school.reads_head,
        )
        read.hash = chain_hash(read.prev_hash, chain_record(read, school))
        school.reads_length, school.reads_head = read.position, read.hash
        db.session.add(read)
    db.session.flush()


# The days whose start, and the start of the day after, every time zone can turn into a UTC moment (as the
# database compares them). A period given beyond them selects the same reads: there are none out there.
FIRST_DAY = dt.date.min + dt.timedelta(days=1)
LAST_DAY = dt.date.max - dt.timedelta(days=2)


def _in_range(day: dt.date) -> dt.date:
    return min(max(day, FIRST_DAY), LAST_DAY)


def entries(
    school: School, user: UUID | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict[str, Any]]:
    """Who read which letter (by its number) and when, newest first; filtered by user and by period (the
    school's local dates, both ends included)."""
    query = (
        select(Read)
        .where(Read.school_id == school.id)
        .options(joinedload(Read.user), joinedload(Read.appeal))
        .order_by(Read.position.desc())
    )
    if user is not None:
        query = query.where(Read.user.has(User.uuid == user))
    zone = journal.school_zone(school)
    if start is not None:
        query = query.where(Read.read_at >= dt.datetime.combine(_in_range(start), dt.time.min, zone))
    if end is not None:
        following = _in_range(end) + dt.timedelta(days=1)
        query = query.where(Read.read_at < dt.datetime.combine(following, dt.time.min, zone))
    return [
        {
            "read_at": read.read_at,
            "user": {"id": read.user.uuid, "full_name": read.user.full_name, "role": read.user.role},
            "school_year": read.appeal.school_year,
            "serial_no": read.appeal.serial_no,
        }
        for read in db.session.scalars(query)
    ]
