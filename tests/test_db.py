"""The database layer: SQLite's durability pragmas, migrations that build and match the schema, and what
is stored for secrets (device tokens and passwords) — only their hashes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from server import create_app
from server.config import database_url
from server.db import BUSY_TIMEOUT_MS, begin_write, db
from server.models import Device, User
from server.services import accounts
from tests.conftest import make_app
from tests.factory import PASSWORD, Factory
from tests.storage import stored_values

POSTGRES_URL = os.environ.get("DATABASE_URL")
TABLES = {
    "schools",
    "users",
    "devices",
    "data_keys",
    "appeals",
    "events",
    "receipts",
    "serial_counters",
    "openings",
    "meetings",
    "reads",
    "districts",
    "reports",
    "erasures",
    "audit_entries",
}


def _found(app: Flask, needle: str) -> list[tuple[str, str]]:
    with app.app_context(), db.engine.connect() as conn:
        return [(t, c) for t, c, raw in stored_values(conn) if needle.encode() in raw]


@pytest.fixture
def sqlite_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app on a fresh SQLite file, whatever DATABASE_URL says: the pragmas are SQLite's."""
    app = make_app(tmp_path, monkeypatch, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("synchronous", 2), ("secure_delete", 1), ("foreign_keys", 1)],
)
def test_sqlite_pragmas_on_every_connection(sqlite_app: Flask, pragma: str, expected: object) -> None:
    """WAL, synchronous=FULL, secure_delete=ON and foreign keys hold on each pooled connection."""
    with sqlite_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        with db.engine.connect() as first, db.engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected
        # The session's connection too (the one requests use).
        assert db.session.execute(text(f"PRAGMA {pragma}")).scalar() == expected


def _hold_write_lock(database: Path) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection in ``BEGIN IMMEDIATE``."""
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_writer_waits_for_the_write_lock_and_takes_it_once_released(sqlite_app: Flask, tmp_path: Path) -> None:
    """``BEGIN IMMEDIATE`` retries in short steps (``server.db._begin_immediate``) until the lock is free."""
    holder = _hold_write_lock(tmp_path / "pragmas.sqlite3")
    threading.Timer(0.3, holder.rollback).start()
    with sqlite_app.app_context():
        begin_write()
        db.session.execute(text("CREATE TABLE waited (n INTEGER)"))
        db.session.commit()
        # The busy timeout of the connection's other statements is back to the configured one.
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == BUSY_TIMEOUT_MS
    holder.close()


def test_a_writer_gives_up_after_the_busy_timeout(
    sqlite_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock never released fails the write as SQLite's busy timeout would, and restores the timeout."""
    monkeypatch.setattr("server.db.BUSY_TIMEOUT_MS", 200)
    holder = _hold_write_lock(tmp_path / "pragmas.sqlite3")
    try:
        with sqlite_app.app_context():
            with pytest.raises(OperationalError, match="locked"):
                begin_write()
            db.session.rollback()
            assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 200
    finally:
        holder.close()


def test_foreign_keys_are_enforced(app: Flask) -> None:
    """On either database, a row pointing at a missing school is refused."""
    with app.app_context():
        db.session.add(User(school_id=999_999, username="orphan", full_name="Orphan", role="admin", password_hash="x"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of the kind under test: a new SQLite file, or a new PostgreSQL schema."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    schema = f"upgrade_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(""))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{database_url('')}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_db_upgrade_builds_an_empty_database(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``flask db upgrade`` on an empty database creates every table, and the result matches the models."""
    fresh = make_app(tmp_path, monkeypatch, SQLALCHEMY_DATABASE_URI=empty_database)
    try:
        with fresh.app_context():
            assert set(inspect(db.engine).get_table_names()) == set()
            result = fresh.test_cli_runner().invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, (result.output, result.exception)
            names = set(inspect(db.engine).get_table_names())
            assert names == TABLES | {"alembic_version"}
            with db.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()


def test_models_and_migrations_do_not_drift(app: Flask) -> None:
    """The migrated database (SQLite or PostgreSQL) is exactly what the models describe."""
    with app.app_context(), db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []


def test_device_token_stored_only_as_sha256(app: Flask, client: FlaskClient, factory: Factory) -> None:
    """The raw bearer token is nowhere in the database; the device row holds its SHA-256."""
    school = factory.school()
    username = factory.user(school)
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD, "device_name": "Tablet"}
    )
    assert response.status_code == 201
    body = response.get_json()
    token = body["token"]
    # At least 128 random bits: token_urlsafe gives 4 characters per 3 bytes.
    assert len(token) >= 22
    assert _found(app, token) == []
    assert _found(app, token[:16]) == []
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == uuid.UUID(body["device_id"])))
        assert device is not None
        assert device.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # …and the hash is what authenticates: the token works, its hash does not.
    ok = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    stolen = client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {device.token_hash}"})
    assert stolen.status_code == 401


def test_tokens_differ_per_login(client: FlaskClient, factory: Factory) -> None:
    username = factory.user(factory.school())
    login = {"username": username, "password": PASSWORD, "device_name": "Tablet"}
    tokens = {client.post("/api/v1/auth/token", json=login).get_json()["token"] for _ in range(3)}
    assert len(tokens) == 3


def test_passwords_stored_as_argon2id(app: Flask, factory: Factory) -> None:
    """Every stored password is an Argon2id hash that verifies, and the plain password is stored nowhere."""
    school = factory.school()
    secret = "Ишеним-кутусу-7"
    usernames = [factory.user(school, role, password=secret) for role in ("pedagogue", "director")]
    with app.app_context():
        hashes = {u.username: u.password_hash for u in db.session.scalars(select(User))}
    assert set(hashes) == set(usernames)
    for stored in hashes.values():
        assert stored.startswith("$argon2id$")
        assert PasswordHasher().verify(stored, secret)
    # Salted: the same password gives different hashes.
    assert len(set(hashes.values())) == len(hashes)
    assert _found(app, secret) == []
    assert _found(app, PASSWORD) == []


def test_production_argon2_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside tests (no cost override) the hash uses RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes."""
    monkeypatch.setenv("ISHENIM_INSTANCE", str(tmp_path))
    prod = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cost.sqlite3'}"})
    with prod.app_context():
        stored = accounts.hash_password("long enough password")
        db.engine.dispose()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
