"""Retention: some years after a case ended, its contents are erased; its numbered row and figures stay.

**When.** A case ends on the day it was closed (``closed_on``) or, for a letter not accepted, on the day it
was refused (the ``decided_on`` of its ``appeal.not_accepted`` event, readable metadata): a refused letter
gets no case work, so that day is its last. It expires ``retention_years`` (a school setting, 5 by
default) after that day, counted on the school's calendar date. A case still open never expires, however
old. Feedback and stand notices may still come after closing (PROTOCOL §7.7); the count starts at the
closing all the same, because the school's part of the case ended there.

**How: crypto-erasure.** The case's data key is destroyed (``keys.destroy_data_key``: its row keeps its
place, since ``appeals.data_key_id`` points at it, with an empty ``wrapped`` value). That wrapped value
was the only copy of the key, so every ciphertext it sealed — the row's projection and the sealed part of
every event of the case — turns into noise, for whoever holds the master key too. The events' ciphertexts
must stay byte for byte: the hash chain covers them (``journal.chain_record``), and ``verify`` still
checks the chain. The projection (``appeals.contents``) is blanked as well. That adds no secrecy the key's
destruction lacks (the events hold the same texts under the same key); it is done so that an erased row
holds no ciphertext at all, its state plain to anyone reading the table and never mistaken for one to
open. The receipt code's digest is cleared too, which frees the code for another letter. On SQLite
``secure_delete=ON`` zeroes the bytes that both overwrites free, so the old wrapped key
and projection leave the file instead of lingering in free space; ``checkpoint`` then moves the pages into
the main file and truncates the WAL, which still held the old ones.

**What stays.** The row with its number, school year, dates, category, status and the other metadata;
the events with their readable ``meta`` (the figures count them: ``figures.py`` reads nothing else); the
audit trail of reads. Acts of openings are kept: their own data key seals only the working group's remarks
about the box (its seal, the letters counted), which name no applicant by design, and the act is the
school's record of the box being opened, not of a child's case.

**What it does not reach.** Copies of the wrapped key outside this database as it is now: backups taken
before the purge, and on PostgreSQL the dead row versions and WAL segments until they are overwritten.
Rotating the master key and destroying the old one (``rotate-key``) makes every such copy useless.
"""

from __future__ import annotations

import datetime as dt
import getpass
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.db import db
from server.models import Appeal, Erasure, Event, School, utcnow
from server.services import journal, keys, schools
from sync.events import AppealStatus, EventType

REASON = "retention"


@dataclass(frozen=True)
class Expired:
    """A case whose retention has run out: the row, and the day the count started."""

    appeal: Appeal
    ended_on: dt.date

    @property
    def number(self) -> str:
        """The case's number and school year as the journal prints them; never more of the case than that."""
        return f"{self.appeal.serial_no}/{self.appeal.school_year}"


def cli_operator() -> str:
    """Who runs a command: the operating system's user (the command line has no account of its own)."""
    try:
        return f"cli:{getpass.getuser()}"[:100]
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "cli"


def cutoff(today: dt.date, years: int) -> dt.date:
    """The last day a case may have ended on and be expired ``today``: ``years`` years earlier (29 February
    becomes the 28th)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def expired(school: School, today: dt.date | None = None) -> list[Expired]:
    """The school's cases not yet erased whose retention has run out, by school year and number."""
    years: int = schools.settings_of(school)["retention_years"]
    last_day = cutoff(today or journal.school_today(school), years)
    live = (Appeal.school_id == school.id, Appeal.erased_at.is_(None))
    closed = db.session.scalars(
        select(Appeal).where(*live, Appeal.status == AppealStatus.CLOSED.value, Appeal.closed_on <= last_day)
    )
    found = [Expired(appeal, appeal.closed_on) for appeal in closed if appeal.closed_on is not None]
    refused = db.session.execute(
        select(Appeal, Event.meta)
        .join(Event, Event.appeal_id == Appeal.id)
        .where(
            *live,
            Appeal.status == AppealStatus.NOT_ACCEPTED.value,
            Event.type == EventType.APPEAL_NOT_ACCEPTED.value,
        )
    )
    for appeal, meta in refused:
        decided_on = dt.date.fromisoformat(str(meta["decided_on"]))
        if decided_on <= last_day:
            found.append(Expired(appeal, decided_on))
    return sorted(found, key=lambda item: (item.appeal.school_year, item.appeal.serial_no))


def purge(school: School, operator: str, run: uuid.UUID, today: dt.date | None = None) -> list[Expired]:
    """Erase the contents of every expired case of ``school``, one audit entry each; returns them.

    The caller has begun a write transaction and commits; the school's row is locked here, since every
    erased row takes a new change number (so that tablets pull it and forget its contents).
    """
    school = journal.lock_school(school.id)
    years: int = schools.settings_of(school)["retention_years"]
    found = expired(school, today)
    now = utcnow()
    for item in found:
        appeal = item.appeal
        keys.destroy_data_key(appeal.data_key)
        appeal.contents = b""
        appeal.receipt_digest = None  # an erased letter frees its receipt code
        appeal.erased_at = now
        appeal.change_no = journal.next_change_no(school)
        db.session.add(
            Erasure(
                school_id=school.id,
                appeal=appeal,
                run=run,
                reason=REASON,
                operator=operator,
                ended_on=item.ended_on,
                retention_years=years,
                erased_at=now,
            )
        )
    db.session.flush()
    return found


def checkpoint() -> tuple[int, int, int] | None:
    """SQLite only (None elsewhere): copy every committed page into the main file and truncate the WAL, so
    the old pages an erasure replaced are in neither. Returns ``(busy, frames in the log, frames copied)``;
    busy is 1 when a reader kept the WAL from being emptied (the next checkpoint finishes the work)."""
    if db.engine.dialect.name != "sqlite":
        return None
    # On a connection of its own, outside any transaction: SQLite will not checkpoint inside one.
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        busy, logged, copied = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    return int(busy), int(logged), int(copied)


def entries(school: School) -> list[dict[str, Any]]:
    """The audit of erasures, newest first: which case (by number), when, by whom, after how long."""
    query = (
        select(Erasure)
        .where(Erasure.school_id == school.id)
        .options(joinedload(Erasure.appeal))
        .order_by(Erasure.erased_at.desc(), Erasure.id.desc())
    )
    return [
        {
            "erased_at": erasure.erased_at,
            "school_year": erasure.appeal.school_year,
            "serial_no": erasure.appeal.serial_no,
            "reason": erasure.reason,
            "operator": erasure.operator,
            "run": erasure.run,
            "ended_on": erasure.ended_on,
            "retention_years": erasure.retention_years,
        }
        for erasure in db.session.scalars(query)
    ]
