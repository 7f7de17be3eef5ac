"""The audit trail of reads: every letter decrypted for a user is one entry, chained per school.

DESIGN.md: every read of confidential content on the server is an audit event (who, what, when),
hash-chained like the journal. A pull that carries contents writes one entry per letter it decrypts, in
the same transaction; ``verify`` recomputes the chain, so a removed or altered entry is named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.orm import joinedload

from server.db import db
from server.models import Read, School, User, utcnow
from server.services import journal
from server.services.accounts import Actor
from sync.chain import chain_hash


def chain_record(read: Read, school: School) -> dict[str, Any]:
    """What the reads' chain covers: every column of the entry."""
    return _record(school, read.position, read.user.uuid, read.device.uuid, read.appeal.uuid, read.read_at)


def _record(
    school: School, position: int, user: UUID, device: UUID, appeal: UUID, read_at: dt.datetime
) -> dict[str, Any]:
    return {
        "v": 1,
        "school": str(school.uuid),
        "position": position,
        "user": str(user),
        "device": str(device),
        "appeal": str(appeal),
        "read_at": journal.utc_text(read_at),
    }


@dataclass(frozen=True)
class Reader:
    """Who reads, as plain values: taken before the pull's read transaction ends and its rows expire."""

    user_id: int
    user: UUID
    device_id: int
    device: UUID

    @classmethod
    def of(cls, actor: Actor) -> Reader:
        return cls(actor.user.id, actor.user.uuid, actor.device.id, actor.device.uuid)


def record_reads(school_id: int, reader: Reader, appeals: list[tuple[int, UUID]]) -> None:
    """One chained entry per appeal (row id, uuid) decrypted for ``reader``. Takes the school's lock.

    Written in bulk, without an ORM object per entry: it is the only part of a pull that holds the write
    lock, so its cost is what every other tablet waits for.
    """
    if not appeals:
        return
    school = journal.lock_school(school_id)
    now = utcnow()
    rows = []
    for appeal_id, appeal_uuid in appeals:
        position = school.reads_length + 1
        entry = _record(school, position, reader.user, reader.device, appeal_uuid, now)
        digest = chain_hash(school.reads_head, entry)
        rows.append(
            {
                "school_id": school.id,
                "position": position,
                "user_id": reader.user_id,
                "device_id": reader.device_id,
                "appeal_id": appeal_id,
                "read_at": now,
                "prev_hash": school.reads_head,
                "hash": digest,
            }
        )
        school.reads_length, school.reads_head = position, digest
    db.session.execute(insert(Read), rows)
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
