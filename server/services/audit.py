"""The audit trail of reads (deliveries): every letter decrypted for a user is one entry, chained per school.

DESIGN.md: every read of confidential content on the server is an audit event (who, what, when),
hash-chained like the journal. A pull that carries contents writes one entry per letter it decrypts, in
the same transaction; ``verify`` recomputes the chain, so a removed or altered entry is named. The entries
of one pull are listed together as a delivery. The school-date periods every audit list filters by are
here too.
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
# database compares them). A period given beyond them selects the same entries: there are none out there.
FIRST_DAY = dt.date.min + dt.timedelta(days=1)
LAST_DAY = dt.date.max - dt.timedelta(days=2)


def _in_range(day: dt.date) -> dt.date:
    return min(max(day, FIRST_DAY), LAST_DAY)


def period(school: School, start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The moments a period of the school's local dates (both ends included) runs from and before."""
    zone = journal.school_zone(school)
    low = dt.datetime.combine(_in_range(start), dt.time.min, zone) if start is not None else None
    following = _in_range(end) + dt.timedelta(days=1) if end is not None else None
    high = dt.datetime.combine(following, dt.time.min, zone) if following is not None else None
    return low, high


def deliveries(
    school: School, user: UUID | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict[str, Any]]:
    """The letters each pull carried to whom, on which device, and when, newest first: the entries of one
    page of a pull share its user, device and moment. Filtered by user and by period (the school's dates)."""
    query = (
        select(Read)
        .where(Read.school_id == school.id)
        .options(joinedload(Read.user), joinedload(Read.device), joinedload(Read.appeal))
        .order_by(Read.read_at.desc(), Read.position)
    )
    if user is not None:
        query = query.where(Read.user.has(User.uuid == user))
    low, high = period(school, start, end)
    if low is not None:
        query = query.where(Read.read_at >= low)
    if high is not None:
        query = query.where(Read.read_at < high)
    found: dict[tuple[int, int, dt.datetime], dict[str, Any]] = {}
    for read in db.session.scalars(query):
        key = (read.user_id, read.device_id, read.read_at)
        if key not in found:
            found[key] = {
                "delivered_at": read.read_at,
                "user": {"id": read.user.uuid, "full_name": read.user.full_name, "role": read.user.role},
                "device": {"id": read.device.uuid, "name": read.device.name},
                "letters": [],
            }
        found[key]["letters"].append({"school_year": read.appeal.school_year, "serial_no": read.appeal.serial_no})
    return list(found.values())
