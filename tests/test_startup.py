"""Starting the app with the master key: refuse, with a clear message, whenever the key cannot open the
letters already stored; make a new key only for a database that holds none.
"""

from __future__ import annotations

import base64
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server import crypto
from server.db import db
from server.models import DataKey
from server.services.keys import StartupError
from sync.client import SyncClient
from tests.conftest import make_app
from tests.factory import Factory, registration, test_client_transport
from tests.operator import run_python

GARBAGE_KEYS = {
    "empty": b"",
    "words": b"not a key at all\n",
    "short": base64.b64encode(bytes(16)) + b"\n",
    "not-utf8": b"\xff\xfe\x00\x81garbage",
    "non-ascii": "ключ".encode(),
}


def _apps_in(error: BaseException) -> list[Flask]:
    """The half-made apps a failed ``create_app`` left in its traceback (to close their engines)."""
    found: list[Flask] = []
    tb = error.__traceback__
    while tb is not None:
        found += [v for v in tb.tb_frame.f_locals.values() if isinstance(v, Flask) and v not in found]
        tb = tb.tb_next
    return found


@pytest.fixture
def start(instance: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    """Create further apps on the same instance (and database); their engines are closed afterwards.

    An app whose start was refused is closed too, at teardown: a connection it left open would otherwise
    be reported (ResourceWarning) in whichever later test the garbage collector happens to run.
    """
    started: list[Flask] = []

    def _start(**config: Any) -> Flask:
        try:
            app = make_app(instance, monkeypatch, **config)
        except Exception as error:
            started.extend(_apps_in(error))
            raise
        started.append(app)
        return app

    yield _start
    for app in started:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def with_letters(factory: Factory, instance: Path) -> SyncClient:
    """The database holds encrypted letters, sealed under the key in ``instance/master.key``."""
    device = factory.device()
    outbox = factory.register(device, count=2)
    assert len(outbox.acknowledged) == 2
    assert (instance / "master.key").exists()
    return device


def _reads_letters(app: Flask, device: SyncClient) -> bool:
    """The letters open through this app: the device's pull carries their decrypted contents."""
    reader = SyncClient(test_client_transport(app.test_client()), token=device.token, device_id=device.device_id)
    changes, _ = reader.pull_all()
    return len(changes) == 2 and all(c["contents"]["summary"] == registration()["summary"] for c in changes)


def test_missing_key_with_letters_refuses(
    with_letters: SyncClient, instance: Path, start: Callable[..., Flask]
) -> None:
    """No key file and letters in the database: StartupError saying the key is missing; no new key is made."""
    key_file = instance / "master.key"
    key_file.unlink()
    with pytest.raises(StartupError, match="no master key") as raised:
        start()
    assert str(key_file) in str(raised.value)
    assert not key_file.exists()


def test_other_key_with_letters_refuses(with_letters: SyncClient, instance: Path, start: Callable[..., Flask]) -> None:
    """A different (valid) key: StartupError saying it does not match; the key file is left as it was."""
    key_file = instance / "master.key"
    key_file.unlink()
    crypto.create_master_key(key_file)
    before = key_file.read_bytes()
    with pytest.raises(StartupError, match="does not open the letters"):
        start()
    assert key_file.read_bytes() == before


@pytest.mark.parametrize("content", GARBAGE_KEYS.values(), ids=GARBAGE_KEYS.keys())
def test_garbage_key_file_refuses(
    with_letters: SyncClient, instance: Path, start: Callable[..., Flask], content: bytes
) -> None:
    """Whatever a damaged key file holds, startup fails with StartupError (not a stray exception)."""
    key_file = instance / "master.key"
    key_file.write_bytes(content)
    with pytest.raises(StartupError, match="unreadable"):
        start()
    assert key_file.read_bytes() == content


def _open_connections(app: Flask, instance: Path) -> int:
    """Connections to the test database: all of them (PostgreSQL), or file handles on it in this process (SQLite)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                # Client sessions only: an autovacuum worker on this database comes and goes on its own.
                query = (
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND backend_type = 'client backend'"
                )
                return int(conn.exec_driver_sql(query).scalar() or 0)
    database = (instance / "ishenim.sqlite3").resolve()
    return sum(1 for fd in Path("/proc/self/fd").iterdir() if _points_to(fd, database))


def _points_to(link: Path, target: Path) -> bool:
    try:
        return link.resolve() == target
    except OSError:  # the descriptor closed while we looked
        return False


def test_refused_start_leaves_no_connection_open(
    app: Flask, with_letters: SyncClient, instance: Path, start: Callable[..., Flask]
) -> None:
    """A refused start closes the connection its check opened (a forked worker must not inherit one)."""
    (instance / "master.key").unlink()
    with app.app_context():
        # SQLite keeps a closed connection's file handle while another connection of the process holds a
        # lock on the file; with none open, a handle left after the refused start is a connection left open.
        db.session.remove()
        db.engine.dispose()
    before = _open_connections(app, instance)
    with pytest.raises(StartupError):
        start()
    assert _open_connections(app, instance) == before


def test_garbage_key_file_refuses_even_without_letters(app: Flask, instance: Path, start: Callable[..., Flask]) -> None:
    """A damaged key is never silently replaced, even when the database is still empty."""
    key_file = instance / "master.key"
    key_file.write_bytes(b"garbage\n")
    with pytest.raises(StartupError):
        start()
    assert key_file.read_bytes() == b"garbage\n"


def test_empty_database_creates_key_0600(app: Flask, instance: Path, start: Callable[..., Flask]) -> None:
    """With no letters yet, a missing key file is created, owner-only, and is then used to seal letters."""
    key_file = instance / "master.key"
    key_file.unlink()
    fresh = start()
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = crypto.load_master_key(key_file)
    device = Factory(fresh, fresh.test_client()).device()
    Factory(fresh, fresh.test_client()).register(device, count=2)
    with fresh.app_context():
        assert {row.key_id for row in db.session.query(DataKey)} == {key.key_id}
    # The next start accepts the key it made.
    assert _reads_letters(start(), device)


def test_restart_with_the_right_key_reads_letters(
    with_letters: SyncClient, instance: Path, start: Callable[..., Flask]
) -> None:
    before = (instance / "master.key").read_bytes()
    assert _reads_letters(start(), with_letters)
    assert (instance / "master.key").read_bytes() == before


@pytest.mark.parametrize("via", ["environment", "config"])
def test_master_key_from_environment_or_config(
    with_letters: SyncClient,
    instance: Path,
    start: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    via: str,
) -> None:
    """``ISHENIM_MASTER_KEY`` (environment or config) stands in for the file; no file is written."""
    key_file = instance / "master.key"
    text = key_file.read_text()
    key_file.unlink()
    if via == "environment":
        monkeypatch.setenv("ISHENIM_MASTER_KEY", text.strip())
        app = start()
    else:
        app = start(ISHENIM_MASTER_KEY=text)
    assert _reads_letters(app, with_letters)
    assert not key_file.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (crypto.MasterKey.generate().to_text(), "does not open the letters"),
        ("not base64 at all!", "unreadable"),
        (base64.b64encode(bytes(16)).decode(), "unreadable"),
        ("ключ", "unreadable"),
    ],
    ids=["other-key", "garbage", "short", "non-ascii"],
)
def test_wrong_key_in_environment_refuses(
    with_letters: SyncClient, instance: Path, start: Callable[..., Flask], value: str, message: str
) -> None:
    """A wrong or damaged ISHENIM_MASTER_KEY refuses too, even with the right key file present."""
    with pytest.raises(StartupError, match=message):
        start(ISHENIM_MASTER_KEY=value)


def test_environment_key_on_empty_database_writes_no_file(
    app: Flask, instance: Path, start: Callable[..., Flask]
) -> None:
    key_file = instance / "master.key"
    key_file.unlink()
    fresh = start(ISHENIM_MASTER_KEY=crypto.MasterKey.generate().to_text())
    assert not key_file.exists()
    device = Factory(fresh, fresh.test_client()).device()
    assert len(Factory(fresh, fresh.test_client()).register(device).acknowledged) == 1


def _import_wsgi(instance: Path) -> subprocess.CompletedProcess[str]:
    """``python -c "import wsgi"`` as gunicorn or ``flask --app wsgi`` would start it, on this instance."""
    return run_python(instance, "-c", "import wsgi")


@pytest.mark.parametrize(
    ("damage", "message"),
    [("missing", "no master key"), ("other", "does not open the letters"), ("garbage", "unreadable")],
)
def test_wsgi_refuses_with_one_clear_line(with_letters: SyncClient, instance: Path, damage: str, message: str) -> None:
    """The process exits non-zero with one line starting ``ishenim:``, no traceback, and makes no key."""
    key_file = instance / "master.key"
    key_file.unlink()
    if damage == "other":
        crypto.create_master_key(key_file)
    elif damage == "garbage":
        key_file.write_text("garbage\n")
    before = key_file.read_bytes() if key_file.exists() else None
    result = _import_wsgi(instance)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ishenim: ")
    assert message in lines[0]
    assert (key_file.read_bytes() if key_file.exists() else None) == before


def test_wsgi_starts_with_the_right_key(with_letters: SyncClient, instance: Path) -> None:
    """The control for the test above: the same instance with its own key starts cleanly."""
    result = _import_wsgi(instance)
    assert result.returncode == 0, result.stderr
    assert "ishenim:" not in result.stderr


def test_wsgi_moves_the_loaded_app_out_of_the_collectors_reach(with_letters: SyncClient, instance: Path) -> None:
    """The app as loaded is frozen (``gc.freeze``): a full collection during a push walks none of it."""
    result = run_python(instance, "-c", "import gc, wsgi; print(gc.get_freeze_count())")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 10_000  # the app's modules, schemas and tables, not a handful
