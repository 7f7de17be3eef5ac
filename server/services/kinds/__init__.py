"""The registry of kinds of records: appeals, openings, meetings and reports, keyed by entity.

A kind's entity is the part of its events' types before the dot (``report`` for ``report.presented``)
and the ``entity`` of its changes in a pull. Each kind is one module of this package describing it as a
``RecordKind`` (``base.py``): its table, its recorder, what a push looks up for it, its pull renderer and
its verifier. Pushes (``record``, ``lookups_for``), pulls and ``flask verify`` go through ``KINDS`` and name
no kind; adding one is a module here and a line in ``KINDS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from server.models import Record, School
from server.services.accounts import Actor
from server.services.kinds.appeal import APPEAL
from server.services.kinds.base import Lookups, PullPage, RecordKind
from server.services.kinds.meeting import MEETING
from server.services.kinds.opening import OPENING
from server.services.kinds.report import REPORT
from sync.events import EventType

__all__ = ["KINDS", "Lookups", "PullPage", "Record", "RecordKind", "kind_of", "lookups_for", "record"]

# In the order ``flask verify`` checks them.
KINDS: dict[str, RecordKind[Any]] = {kind.entity: kind for kind in (APPEAL, OPENING, MEETING, REPORT)}


def kind_of(event_type: EventType | str) -> RecordKind[Any]:
    """The kind of record an event type is about."""
    return KINDS[EventType(event_type).entity]


def lookups_for(school: School, mutations: Iterable[dict[str, Any]], today: dt.date) -> Lookups:
    """What a batch of mutations names, of every kind, fetched before the batch runs (``Lookups``)."""
    return Lookups(KINDS, school, mutations, today)


def record(actor: Actor, school: School, mutation: dict[str, Any], lookups: Lookups, today: dt.date) -> Record:
    """Apply one validated mutation: rules, row, event; nothing is flushed yet.

    Raises ``Refusal`` or ``Conflict`` before changing anything, so a refused mutation needs no rollback."""
    recorded: Record = kind_of(mutation["type"]).record(actor, school, mutation, today, lookups)
    return recorded
