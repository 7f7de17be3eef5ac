"""The database: one SQLAlchemy object, migrations, SQLite's durability pragmas and write transactions.

SQLite serves one school on a modest machine, PostgreSQL a district; ``DATABASE_URL`` decides. Writes
that extend a school's journal are serialised per school: PostgreSQL locks the school's row, SQLite
takes its single write lock at ``BEGIN IMMEDIATE`` so that a transaction never has to give up midway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, Response, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase

F = TypeVar("F", bound=Callable[..., Any])

MIGRATIONS_DIR = str(Path(__file__).with_name("migrations"))

# Stable constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()

BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # an acknowledged letter survives a power cut
    "PRAGMA secure_delete=ON",  # deleted pages are zeroed, not left readable in the file
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)
WRITE_OPTION = "ishenim_write"
# How often a writer waiting for SQLite's write lock tries again: from half a millisecond, doubling up to 4.
# SQLite's own busy handler sleeps up to 100 ms between tries, so under many tablets a waiting writer
# overslept the lock's release again and again, and the unlucky ones waited seconds (docs/BENCHMARKS.md).
RETRY_FIRST_S, RETRY_MAX_S = 0.0005, 0.004


def _begin_immediate(connection: Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting for the write lock in short steps, up to the same busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = RETRY_FIRST_S
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                busy = getattr(error.orig, "sqlite_errorname", "") == "SQLITE_BUSY"
                if not busy or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver, so that BEGIN is ours to write (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION, False):
            _begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN")


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCKS_ITSELF = "ishenim_locks_itself"


def locks_itself(view: F) -> F:
    """Mark a writing view that calls ``begin_write`` itself, after slow work that needs no lock."""
    setattr(view, LOCKS_ITSELF, True)
    return view


def begin_write() -> None:
    """Start a transaction that may write, ending any read transaction of this session first.

    On SQLite the write lock is taken at once; a transaction that read first and then tried to write
    could find the snapshot it read already outdated and fail instead of waiting for its turn.
    """
    db.session.rollback()
    db.session.connection(execution_options={WRITE_OPTION: True})


def init_app(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)

    # A request that may write holds the write lock from its first query (see begin_write).
    @app.before_request
    def _write_requests_take_the_lock() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if request.method not in READ_METHODS and not getattr(view, LOCKS_ITSELF, False):
            begin_write()

    # One commit per request, at the boundary: services only flush. An error response commits nothing.
    @app.after_request
    def _commit_or_roll_back(response: Response) -> Response:
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response
