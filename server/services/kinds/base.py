"""What a kind of record is to the server, and the helpers its module draws on.

``RecordKind`` gathers everything the server does differently for one kind of record: its table, how a
mutation is recorded, what a push looks up before it runs, how a pull shows a row, and how ``flask verify``
checks a row against its events. Pushes and pulls (``sync``) and ``verify`` call these and never name a kind;
each kind's module records through ``journal``, which keeps what every kind shares. The registry of kinds
is ``server/services/kinds/__init__.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm.interfaces import ORMOption

from server import crypto
from server.db import Base, db
from server.models import Event, Record, School, utcnow
from server.services import journal
from server.services.accounts import Actor
from sync import rules
from sync.events import EventType

# A kind's model. Bound to the models' base rather than to ``Record``: within the services' import cycle mypy
# does not take a mapped class for that protocol as a bound, so generic code reads the columns as ``Record``.
R = TypeVar("R", bound=Base)

# A problem ``flask verify`` found: where (a record named for the operator), and what.
Finding = tuple[str, str]


@dataclass
class PullPage:
    """What the changes of one pull's page are shown with, and what showing them read."""

    school: School
    with_contents: bool  # the caller reads letters (``sync.reads_contents``)
    settings: dict[str, Any]
    today: dt.date  # the school's date
    reads: list[tuple[int, UUID]] = field(default_factory=list)  # appeals whose contents the page carries


def _names_nothing(mutation: dict[str, Any]) -> Iterable[tuple[RecordKind[Any], UUID]]:
    return ()


def _own_id(mutation: dict[str, Any]) -> UUID:
    own: UUID = mutation["id"]
    return own


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    """One kind of record. ``entity`` is the part of its events' types before the dot, and the ``entity`` of
    its changes in a pull."""

    entity: str
    model: type[R]
    # Apply one validated mutation of this kind: rules, row, event, nothing flushed; refuses (``Refusal``,
    # ``Conflict``) before it changes anything.
    record: Callable[[Actor, School, dict[str, Any], dt.date, Lookups], R]
    # The changes a pull carries for these rows (of one page, in change order).
    render: Callable[[list[R], PullPage], list[dict[str, Any]]]
    # Every difference between the school's rows of this kind and their events.
    verify: Callable[[School], Iterator[Finding]]
    # The record a mutation creates or changes (a stale version is answered with it).
    target: Callable[[dict[str, Any]], UUID] = _own_id
    # The records a mutation names, of any kind, that a push fetches with the others before the batch runs.
    named: Callable[[dict[str, Any]], Iterable[tuple[RecordKind[Any], UUID]]] = _names_nothing
    # Loader options for every query of rows (what rendering or recording them reads besides the row).
    load: tuple[ORMOption, ...] = ()

    def find(self, school: School, record_id: UUID) -> R | None:
        """The school's record of this kind with this id."""
        model: Any = self.model
        query = select(model).where(model.uuid == record_id, model.school_id == school.id).options(*self.load)
        found: R | None = db.session.scalar(query)
        return found

    def changed_since(self, school: School, cursor: int, limit: int) -> list[R]:
        """The school's first ``limit`` rows of this kind changed after ``cursor``, in change order."""
        model: Any = self.model
        query = select(model).where(model.school_id == school.id, model.change_no > cursor).options(*self.load)
        return list(db.session.scalars(query.order_by(model.change_no).limit(limit)))

    def add(
        self,
        school: School,
        actor: Actor,
        mutation: dict[str, Any],
        version: int,
        sealed_with: bytes | None = None,
        **columns: Any,
    ) -> R:
        """A new row of this kind, made by ``mutation`` (its id is the row's), with the mutation's event
        appended; ``sealed_with``, the row's data key, seals the event's private fields."""
        now = utcnow()
        row = self.model(
            uuid=mutation["id"],
            school_id=school.id,
            recorded_by_id=actor.user.id,
            recorded_at=now,
            version=version,
            change_no=journal.next_change_no(school),
            **columns,
        )
        db.session.add(row)
        journal.append_event(school, actor, mutation, now, subject=mutation["id"], data_key=sealed_with)
        return row

    def change(self, row: Any, **fields: Any) -> dict[str, Any]:
        """A row of a record the staff make (an act, a meeting, a report) as a pull carries it: what every
        change holds, who recorded it and when, and the kind's own ``fields``."""
        return {
            "entity": self.entity,
            "change_no": row.change_no,
            "id": row.uuid,
            "version": row.version,
            **fields,
            "recorded_at": row.recorded_at,
            "recorded_by": row.recorded_by.full_name,
        }

    def rows_of(self, school: School) -> Iterator[R]:
        """Every row of this kind the school has, in the order they were made."""
        model: Any = self.model
        return iter(db.session.scalars(select(model).where(model.school_id == school.id).order_by(model.id)))


class Lookups:
    """The records a batch of mutations names, fetched with one query per kind before the batch runs.

    Asking for them one mutation at a time cost a query each, and every query first flushed the rows of the
    mutations before it: per-row work that dominated a push of 200 letters. Answered from here, and kept
    current as the batch creates records, a batch of registrations runs no query until its one flush.
    Records the batch did not name are looked up in the database as before.
    """

    def __init__(
        self,
        kinds: dict[str, RecordKind[Any]],
        school: School,
        mutations: Iterable[dict[str, Any]],
        today: dt.date,
    ) -> None:
        self._kinds = kinds  # the registry, by entity
        self.school = school
        self.today = today  # the school's date for the whole batch, as the rules see it
        self.recorded_events: set[UUID] = set()  # events this batch has recorded
        named: dict[str, set[UUID]] = {entity: set() for entity in kinds}
        self.event_ids: set[UUID] = set()
        for mutation in mutations:
            self.event_ids.add(mutation["id"])
            for kind, record_id in self._kind_of(mutation).named(mutation):
                named[kind.entity].add(record_id)
        # Records of any school, by their ids (unique across schools): a registration under another school's
        # appeal id is refused (``taken_elsewhere``); ``find`` answers the batch's own school's only.
        self._records: dict[str, dict[UUID, Any]] = {}
        for entity, ids in named.items():
            self._records[entity] = dict.fromkeys(ids)
            if ids:
                model: Any = kinds[entity].model
                query = select(model).where(model.uuid.in_(ids)).options(*kinds[entity].load)
                self._records[entity].update({row.uuid: row for row in db.session.scalars(query)})
        # Event ids already stored: each such mutation is a resend (or another school's id).
        self.stored_events: set[UUID] = (
            set(db.session.scalars(select(Event.uuid).where(Event.uuid.in_(self.event_ids))))
            if self.event_ids
            else set()
        )

    def _kind_of(self, mutation: dict[str, Any]) -> RecordKind[Any]:
        return self._kinds[EventType(mutation["type"]).entity]

    def find(self, kind: RecordKind[R], record_id: UUID) -> R | None:
        """The school's record of this kind with this id, as it stands in this batch."""
        records = self._records[kind.entity]
        if record_id not in records:
            return kind.find(self.school, record_id)
        found: R | None = records[record_id]
        return found if found is not None and cast(Record, found).school_id == self.school.id else None

    def taken_elsewhere(self, kind: RecordKind[R], record_id: UUID) -> bool:
        """Whether another school holds a record of this kind with this id."""
        records = self._records[kind.entity]
        if record_id not in records:
            model: Any = kind.model
            return db.session.scalar(select(model.id).where(model.uuid == record_id)) is not None
        found = records[record_id]
        return found is not None and found.school_id != self.school.id

    def created(self, kind: RecordKind[R], made: R) -> None:
        """A record this batch made: later mutations of the batch find it here, not yet in the database."""
        self._records[kind.entity][cast(Record, made).uuid] = made

    def forget(self, mutation: dict[str, Any]) -> None:
        """After a savepoint's rollback: what the mutation may have made is gone, so ask the database."""
        kind = self._kind_of(mutation)
        self._records[kind.entity].pop(kind.target(mutation), None)

    def target(self, mutation: dict[str, Any]) -> Record | None:
        """The record a mutation creates or changes, as it stands in this batch."""
        kind = self._kind_of(mutation)
        found: Record | None = self.find(kind, kind.target(mutation))
        return found


Rows = tuple[dict[str, Any], dict[str, Any]]  # a row as stored, and as its events say it must be


def difference(rows: Callable[[], Rows]) -> str | None:
    """The first difference between a stored row and its replayed events, or the error replaying them gave."""
    try:
        stored, expected = rows()
    except (crypto.CryptoError, rules.Refusal, rules.Conflict) as exc:
        return f"{type(exc).__name__}: {exc}"
    differing = sorted(column for column in stored if stored[column] != expected.get(column))
    return f"the record differs from its events in {', '.join(differing)}" if differing else None


def subject_events(subject: UUID) -> list[Event]:
    """The events about a record that is no appeal, in journal order."""
    return list(db.session.scalars(select(Event).where(Event.subject == subject).order_by(Event.position)))


def replayed(events: list[Event], school: School, data_key: bytes | None) -> dict[str, Any] | None:
    """A record's state from its events alone (None without any)."""
    state = None
    for event in events:
        state = rules.evolve(state, EventType(event.type), None, journal.event_data(event, school, data_key), None)
    return state


def recorded(events: list[Event], index: int) -> tuple[dt.datetime, int] | tuple[None, None]:
    """When and by whom the ``index``-th event of a record was recorded (None, None without one)."""
    return (events[index].recorded_at, events[index].user_id) if len(events) > index else (None, None)


def verify_subjects(
    kind: RecordKind[R], school: School, rows: Callable[[R, School, list[Event]], Rows]
) -> Iterator[Finding]:
    """Each row of a kind whose events name it in ``Event.subject`` against those events."""
    for row in kind.rows_of(school):
        row_id = cast(Record, row).uuid
        if problem := difference(partial(rows, row, school, subject_events(row_id))):
            yield f"{kind.entity} {row_id}", problem
