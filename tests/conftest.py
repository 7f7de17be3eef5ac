"""Fixtures: an app on a fresh database per test, a client, a runner, a small data factory, and gunicorn.

SQLite by default: the migrated schema is built once and copied per test. With ``DATABASE_URL`` set the
same suite runs on PostgreSQL, in a database of its own made for the run (so runs side by side never
meet): migrated once, emptied before each test.

``gunicorn`` makes real servers (``tests.faults.Gunicorn``) for the tests that need processes of their own;
each is stopped after the test, and a traceback in its log fails the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from server import create_app
from server.config import database_url
from server.db import db
from tests.factory import Factory
from tests.faults import Gunicorn

POSTGRES_URL = os.environ.get("DATABASE_URL")

# Argon2 at its cheapest: the tests check that passwords are hashed, not how slowly.
FAST_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 64, "ARGON2_PARALLELISM": 1}
# Fixtures enrol dozens of devices from 127.0.0.1 within seconds; tests/test_throttle.py sets the real figure.
MANY_LOGINS = {"LOGIN_ADDRESS_LIMIT": "1000 per minute"}


def make_app(instance: Path, monkeypatch: pytest.MonkeyPatch, **config: Any) -> Flask:
    monkeypatch.setenv("ISHENIM_INSTANCE", str(instance))
    key_file = str(instance / "master.key")
    return create_app({"TESTING": True, "ISHENIM_KEY_FILE": key_file, **FAST_HASHING, **MANY_LOGINS, **config})


@pytest.fixture(scope="session", autouse=True)
def postgres_for_run() -> Iterator[None]:
    """On PostgreSQL, a fresh database for this run; ``DATABASE_URL`` points at it until the run ends."""
    if not POSTGRES_URL:
        yield
        return
    url = make_url(database_url(""))
    name = f"{url.database}_run{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url.set(database=name).render_as_string(hide_password=False))
        yield
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory, postgres_for_run: None) -> Path:
    """A database built by the real migrations, once per run: a SQLite file to copy, or PostgreSQL."""
    instance = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        app = make_app(instance, mp)
        with app.app_context():
            upgrade()
            db.engine.dispose()
    return instance / "ishenim.sqlite3"


def empty_postgres() -> None:
    engine = create_engine(database_url(""))
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def instance(tmp_path: Path, migrated: Path) -> Path:
    if not POSTGRES_URL:
        shutil.copy(migrated, tmp_path / "ishenim.sqlite3")
    return tmp_path


@pytest.fixture
def app(instance: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    if POSTGRES_URL:
        empty_postgres()
    app = make_app(instance, monkeypatch)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def factory(app: Flask, client: FlaskClient) -> Factory:
    return Factory(app, client)


@pytest.fixture
def served_pwa(app: Flask, tmp_path: Path) -> Path:
    """A copy of pwa/ that the app serves instead of the tree itself, for tests that change a file: the app
    serves a change once the test calls ``server.pwa.load_shell(app)``, as a server does once restarted."""
    from server.pwa import PWA_DIR, load_shell

    shell = tmp_path / "pwa"
    shutil.copytree(PWA_DIR, shell)
    app.config["PWA_DIR"] = shell
    load_shell(app)
    return shell


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Callable[..., Gunicorn]]:
    """Makes ``Gunicorn(instance, log, workers, options, env)`` with a log of its own under ``tmp_path``; the
    test starts it (and may stop, kill and start it again)."""
    made: list[Gunicorn] = []

    def make(
        instance: Path, options: Sequence[str] = (), workers: int = 2, env: Mapping[str, str] | None = None
    ) -> Gunicorn:
        server = Gunicorn(instance, tmp_path / f"gunicorn-{len(made)}.log", workers, options, env)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()
    for server in made:
        assert "Traceback" not in server.log_text(), server.log_text()
