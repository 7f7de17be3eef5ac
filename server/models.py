"""Typed SQLAlchemy models. Integer keys inside; UUIDs are what the wire sees.

Confidential contents are only ever stored as ciphertext (``LargeBinary`` columns filled by
``server.crypto``); every other column is metadata the regulations let the school count and query.
The tables of the kinds of records (appeals, openings, meetings, reports) are described here; what each
kind does with its table (recording, pulling, verifying) is in ``server/services/kinds/``.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from uuid import UUID, uuid4

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from server.db import Base
from sync.chain import GENESIS
from sync.events import Role

# INSERT_SENTINEL_WHY: the ORM inserts many rows in one statement only when it can match the ids the
# database returns to the rows it sent. PostgreSQL guarantees the order; SQLite does not, so each row
# would get an INSERT of its own (three per registration, most of a push's time). The client-made unique
# uuid of an appeal, a data key or an event is a sentinel to match them by (ORM only: no change to the
# schema). Every such row is given its uuid before it is added.


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A moment in UTC, aware on the way in and out; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store moments in UTC")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _enum_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


class District(Base):
    """A district hosting many schools on one server; its viewers see only aggregate figures."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Bishkek")
    director_reads_contents: Mapped[bool] = mapped_column(Boolean, default=False)
    # Settings the tablets need offline (see sync.schemas.SchoolSettingsSchema for keys and defaults).
    settings: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # The end of the school's hash chain and the last change number handed out; both move only
    # while the school's row is locked, so they grow in commit order.
    chain_head: Mapped[str] = mapped_column(String(64), default=GENESIS)
    chain_length: Mapped[int] = mapped_column(BigInteger, default=0)
    # The audit trail of reads has a chain of its own, so that reading never moves the journal's head.
    reads_head: Mapped[str] = mapped_column(String(64), default=GENESIS)
    reads_length: Mapped[int] = mapped_column(BigInteger, default=0)
    last_change_no: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(Base):
    """A member of a school's staff, or a district's viewer (who belongs to the district, not a school)."""

    __tablename__ = "users"
    __table_args__ = (
        _enum_check("role", tuple(r.value for r in Role), "role"),
        CheckConstraint(
            "(role = 'district' AND district_id IS NOT NULL AND school_id IS NULL)"
            " OR (role <> 'district' AND school_id IS NOT NULL AND district_id IS NULL)",
            name="belongs",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, default=uuid4)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True, default=None)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    school: Mapped[School | None] = relationship()
    district: Mapped[District | None] = relationship()


class Device(Base):
    """An enrolled tablet or browser: one bearer token, and the last mutation it delivered."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, default=uuid4)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)  # None: a district's
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)

    user: Mapped[User] = relationship()
    school: Mapped[School | None] = relationship()


class DataKey(Base):
    """The wrapped AES key of one confidential record; destroying it erases the record's contents.

    A destroyed key keeps its row (``appeals.data_key_id`` points at it) with ``key_id`` set to
    ``keys.ERASED`` and ``wrapped`` empty: see ``server/services/retention.py``.
    """

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    owner: Mapped[UUID] = mapped_column(Uuid, unique=True, insert_sentinel=True)  # see INSERT_SENTINEL_WHY
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Appeal(Base):
    """A row of the journal: the projection of an appeal's events, kept for queries."""

    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("school_id", "school_year", "serial_no"),
        Index("ix_appeals_school_change", "school_id", "change_no"),
        # The figures: a school's letters received in a period (migration 0008, docs/BENCHMARKS.md).
        Index("ix_appeals_school_received", "school_id", "received_on"),
        # One slip, one letter: the letter holding a receipt code, by its keyed digest (migration 0011).
        Index("ix_appeals_school_receipt", "school_id", "receipt_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, insert_sentinel=True)  # see INSERT_SENTINEL_WHY
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    data_key_id: Mapped[int] = mapped_column(ForeignKey("data_keys.id"))
    school_year: Mapped[int] = mapped_column(Integer)
    serial_no: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    received_on: Mapped[dt.date] = mapped_column(Date)
    opening_id: Mapped[UUID | None] = mapped_column(Uuid)
    category: Mapped[str] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(Boolean)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    applicant_role: Mapped[str] = mapped_column(String(20))
    contents: Mapped[bytes] = mapped_column(LargeBinary)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    change_no: Mapped[int] = mapped_column(BigInteger)
    # Derived from the sealed case work and kept readable for deadlines and the monthly figures.
    answered_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    closed_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    # The case work as the figures count it (``kinds.appeal.case_marks``: "|!||material_help|"), NULL without any.
    case_marks: Mapped[str | None] = mapped_column(Text, default=None)
    # When the retention period erased the contents (its data key destroyed); None while they exist.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    # The receipt code's keyed digest (``services/receipts.py``), never the code; None without a code or
    # once erased.
    receipt_digest: Mapped[str | None] = mapped_column(String(64), default=None)

    data_key: Mapped[DataKey] = relationship()
    school: Mapped[School] = relationship()


class Opening(Base):
    """An opening of the box by the working group: the act the director receives (regulation 003 §2.3-2.4)."""

    __tablename__ = "openings"
    __table_args__ = (
        Index("ix_openings_school_change", "school_id", "change_no"),
        Index("ix_openings_school_opened", "school_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, insert_sentinel=True)  # see INSERT_SENTINEL_WHY
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    data_key_id: Mapped[int] = mapped_column(ForeignKey("data_keys.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # The act as recorded (members, letters counted, seal), except the remarks, which are sealed.
    record: Mapped[dict[str, object]] = mapped_column(JSON)
    remarks: Mapped[bytes] = mapped_column(LargeBinary)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    version: Mapped[int] = mapped_column(Integer)
    change_no: Mapped[int] = mapped_column(BigInteger)

    data_key: Mapped[DataKey] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


class Meeting(Base):
    """A commission meeting (regulation 000: Fridays); its decisions are ``appeal.decided`` events."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_school_change", "school_id", "change_no"),
        Index("ix_meetings_school_held", "school_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    record: Mapped[dict[str, object]] = mapped_column(JSON)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)
    change_no: Mapped[int] = mapped_column(BigInteger)

    recorded_by: Mapped[User] = relationship()


class Report(Base):
    """The monthly information on the box, presented for a month (regulation 003 §2.6: by the 5th)."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("school_id", "month"),
        Index("ix_reports_school_change", "school_id", "change_no"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    month: Mapped[str] = mapped_column(String(7))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)
    change_no: Mapped[int] = mapped_column(BigInteger)

    recorded_by: Mapped[User] = relationship()


class Record(Protocol):
    """The columns every kind of record's table has (``server/services/kinds/``): its key, the wire's id,
    its school, its version and its change number."""

    @property
    def id(self) -> int: ...
    @property
    def uuid(self) -> UUID: ...
    @property
    def school_id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def change_no(self) -> int: ...


class Event(Base):
    """One entry of a school's append-only journal, a link of its hash chain. Never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("school_id", "position"),
        UniqueConstraint("device_id", "seq"),
        Index("ix_events_appeal", "appeal_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[UUID] = mapped_column(Uuid, unique=True, insert_sentinel=True)  # see INSERT_SENTINEL_WHY
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    position: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id"))
    # The record an event is about when it is no appeal (an opening, a meeting, a report); appeal events
    # name ``appeal_id`` instead.
    subject: Mapped[UUID | None] = mapped_column(Uuid, index=True, default=None)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    meta: Mapped[dict[str, object]] = mapped_column(JSON)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    appeal: Mapped[Appeal | None] = relationship()
    device: Mapped[Device] = relationship()
    user: Mapped[User] = relationship()


class Receipt(Base):
    """The outcome of each mutation a device delivered, so that a replay is answered as the first time."""

    __tablename__ = "receipts"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mutation_id: Mapped[UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(String(60))
    serial_no: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int | None] = mapped_column(Integer)


class SerialCounter(Base):
    """The last serial number given in a school year; moved only under the school's lock, so gapless."""

    __tablename__ = "serial_counters"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    school_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class Read(Base):
    """One decrypted read of a letter by a user on a device: the audit trail, chained per school."""

    __tablename__ = "reads"
    __table_args__ = (
        UniqueConstraint("school_id", "position"),
        Index("ix_reads_school_time", "school_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    position: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"))
    read_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    user: Mapped[User] = relationship()
    device: Mapped[Device] = relationship()
    appeal: Mapped[Appeal] = relationship()


class Erasure(Base):
    """The audit entry of one case whose contents the retention period erased: which case (the row names
    it; the number and school year are on the appeal), when, by whom, from which date and after how long.
    Never a word of the letter."""

    __tablename__ = "erasures"
    __table_args__ = (
        _enum_check("reason", ("retention",), "reason"),
        Index("ix_erasures_school_erased", "school_id", "erased_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), unique=True)
    # One run of ``purge-expired``: the entries it wrote share it, so "how many at once" is a count.
    run: Mapped[UUID] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(String(20))
    # Who ran it: "cli:<operating-system user>" for the command line.
    operator: Mapped[str] = mapped_column(String(100))
    # The day the retention was counted from (closed, or not accepted) and the years it lasted.
    ended_on: Mapped[dt.date] = mapped_column(Date)
    retention_years: Mapped[int] = mapped_column(Integer)
    erased_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    appeal: Mapped[Appeal] = relationship()
