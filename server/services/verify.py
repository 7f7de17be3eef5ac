"""Checks that the journal is what was written: every hash chain, every ciphertext, every record's row.

The chain catches an altered, removed or inserted event; each kind of record's verifier
(``server/services/kinds/``) opens its ciphertexts and replays its events against its rows, which catches
altered contents, keys and rows; and every event about a record must find that record's row, so a
deleted act, meeting or report is a break too. The audit trail of reads is a chain of its own, and so is
the audit trail of views and administrative actions.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.db import db
from server.models import AuditEntry, Event, Read, School
from server.services import audit, audit_log, journal, kinds
from sync.chain import GENESIS, chain_hash


@dataclass(frozen=True)
class Break:
    school: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"school {self.school}: {self.where}: {self.problem}"


def _walk(
    school: School,
    links: Iterable[Event] | Iterable[Read] | Iterable[AuditEntry],
    record: Callable[[Any, School], dict[str, Any]],
    name: Callable[[Any], str],
    head: tuple[str, int],
) -> Iterator[Break]:
    """One hash chain from GENESIS: positions 1..n without a gap, each link on the one before and on its own
    contents, and the school's recorded head at the last link."""
    prev, position = GENESIS, 0
    for link in links:
        position += 1
        where = name(link)
        if link.position != position:
            yield Break(str(school.uuid), where, f"expected position {position}: an entry is missing")
            return
        if link.prev_hash != prev:
            yield Break(str(school.uuid), where, "does not follow the entry before it")
            return
        if chain_hash(prev, record(link, school)) != link.hash:
            yield Break(str(school.uuid), where, "its contents do not match its hash")
            return
        prev = link.hash
    if head != (prev, position):
        yield Break(str(school.uuid), f"{name(None)} head", "the school's recorded head is not the last entry")


def _chain_breaks(school: School) -> Iterator[Break]:
    """The journal's chain of events."""
    events = db.session.scalars(
        select(Event)
        .where(Event.school_id == school.id)
        .order_by(Event.position)
        .options(joinedload(Event.appeal), joinedload(Event.device), joinedload(Event.user))
    )
    return _walk(
        school,
        events,
        journal.chain_record,
        lambda event: f"event {event.uuid} (position {event.position})" if event else "chain",
        (school.chain_head, school.chain_length),
    )


def _record_breaks(school: School) -> Iterator[Break]:
    """Each kind's rows against their events, in the registry's order."""
    for kind in kinds.KINDS.values():
        for where, problem in kind.verify(school):
            yield Break(str(school.uuid), where, problem)


def _missing_breaks(school: School) -> Iterator[Break]:
    """Every event about a record must find that record's row, of its own kind (appeal events point at
    theirs by a foreign key)."""
    named: dict[str, set[uuid.UUID]] = {}
    for event_type, subject in db.session.execute(
        select(Event.type, Event.subject).where(Event.school_id == school.id, Event.subject.is_not(None))
    ):
        assert subject is not None
        named.setdefault(kinds.kind_of(event_type).entity, set()).add(subject)
    missing: set[uuid.UUID] = set()
    for entity, subjects in named.items():
        model: Any = kinds.KINDS[entity].model
        missing |= subjects - set(db.session.scalars(select(model.uuid).where(model.school_id == school.id)))
    for record_id in sorted(str(subject) for subject in missing):
        yield Break(str(school.uuid), f"record {record_id}", "its events name a record that has no row")


def _reads_breaks(school: School) -> Iterator[Break]:
    """The audit trail of reads: a chain of its own, from GENESIS to the school's ``reads_head``."""
    reads = db.session.scalars(
        select(Read)
        .where(Read.school_id == school.id)
        .order_by(Read.position)
        .options(joinedload(Read.user), joinedload(Read.device), joinedload(Read.appeal))
    )
    return _walk(
        school,
        reads,
        audit.chain_record,
        lambda read: f"read {read.position}" if read else "reads",
        (school.reads_head, school.reads_length),
    )


def _audit_breaks(school: School) -> Iterator[Break]:
    """The audit trail of views and administrative actions: from GENESIS to the school's ``audit_head``."""
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.school_id == school.id)
        .order_by(AuditEntry.position)
        .options(
            joinedload(AuditEntry.user),
            joinedload(AuditEntry.device),
            joinedload(AuditEntry.appeal),
            joinedload(AuditEntry.target_user),
            joinedload(AuditEntry.target_device),
        )
    )
    return _walk(
        school,
        entries,
        audit_log.chain_record,
        lambda entry: f"audit entry {entry.position} ({entry.kind})" if entry else "audit trail",
        (school.audit_head, school.audit_length),
    )


def first_break() -> Break | None:
    """The first problem found, school by school, or None when every journal is intact."""
    for school in db.session.scalars(select(School).order_by(School.id)):
        checks = (
            _chain_breaks(school),
            _record_breaks(school),
            _missing_breaks(school),
            _reads_breaks(school),
            _audit_breaks(school),
        )
        for found in itertools.chain(*checks):
            return found
    return None
