"""The backup drill: an encrypted backup taken while letters are being written, restored into a fresh
instance, must give back exactly the snapshot — every row, every letter readable, ``verify`` intact — and
the backup file must hold nothing readable. A wrong key, an altered or truncated file, or a target that
is not empty must fail cleanly and leave the target as it was.

On SQLite the target is a new instance folder; with ``DATABASE_URL`` set, a database created for the test
(and dropped after), restored through ``pg_restore``.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Connection, create_engine, inspect, make_url, select, text

from server import crypto
from server.cli import Progress
from server.config import database_url
from server.db import db
from server.models import Appeal, School
from server.services import backup
from sync.client import Outbox, SyncClient
from tests.conftest import POSTGRES_URL, make_app
from tests.factory import Factory, registration, test_client_transport
from tests.test_confidentiality import (
    Letters,
    assert_contents,
    found_in_database,
    found_in_files,
    new_canary,
    occurrences,
    sqlite_files,
    write_letters,
)

SQLITE_MAGIC = b"SQLite format 3"
PG_DUMP_MAGIC = b"PGDMP"


# --- Targets: fresh instances to restore into -----------------------------------------------------------


@dataclass
class Targets:
    """Fresh instances (and on PostgreSQL, fresh databases) to restore into; all closed and dropped after."""

    root: Path
    master_key: Path
    apps: list[Flask] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)

    def new(self, with_master_key: bool = True, migrated: bool = False) -> Path:
        instance = self.root / f"target-{len(self.databases) + len(self.apps)}-{secrets.token_hex(2)}"
        instance.mkdir(mode=0o700)
        if with_master_key:
            (instance / "master.key").write_bytes(self.master_key.read_bytes())
            (instance / "master.key").chmod(0o600)
        if POSTGRES_URL:
            run = make_url(database_url(""))
            name = f"{run.database}_t{secrets.token_hex(3)}"
            with _admin() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.databases.append(name)
            (instance / "database_url").write_text(run.set(database=name).render_as_string(hide_password=False))
        if migrated:
            from flask_migrate import upgrade

            app = self.app(instance)
            with app.app_context():
                upgrade()
        return instance

    def app(self, instance: Path, **config: Any) -> Flask:
        """An app on the target, as the server (or a command) would start there."""
        with pytest.MonkeyPatch.context() as mp:
            url_file = instance / "database_url"
            if url_file.exists():
                mp.setenv("DATABASE_URL", url_file.read_text())
            app = make_app(instance, mp, **config)
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        if self.databases:
            with _admin() as conn:
                for name in self.databases:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def _admin() -> Iterator[Connection]:
    """A connection to the run's database that may create and drop others."""
    engine = create_engine(database_url(""), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture
def targets(tmp_path: Path, instance: Path, app: Flask) -> Iterator[Targets]:
    found = Targets(tmp_path / "targets", instance / "master.key")
    found.root.mkdir()
    yield found
    found.close()


@pytest.fixture
def custody(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The key custodian's folder, away from every instance."""
    folder = tmp_path_factory.mktemp("custody")
    folder.chmod(0o700)
    return folder


def invoke(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def backup_key(app: Flask, custody: Path, instance: Path) -> Path:
    """``backup-key``: the private half to the custodian, the public half into the instance."""
    private = custody / "backup.key"
    result = invoke(app, "backup-key", "--out", str(private))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert crypto.load_backup_private_key(private).public() == crypto.load_backup_public_key(instance / "backup.pub")
    assert "BackupPrivateKey" not in (instance / "backup.pub").read_text()
    return private


# --- What a database holds --------------------------------------------------------------------------------


def table_counts(app: Flask) -> dict[str, int]:
    with app.app_context(), db.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        return {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}  # noqa: S608


def appeal_rows(app: Flask) -> dict[uuid.UUID, dict[str, Any]]:
    """Every column of every appeal, by its id (integer keys included: a restore keeps them)."""
    with app.app_context():
        rows = db.session.execute(select(Appeal.__table__)).mappings().all()
        return {row["uuid"]: dict(row) for row in rows}


def reader(app: Flask, device: SyncClient) -> SyncClient:
    """The same device (token, id) talking to ``app``."""
    return SyncClient(test_client_transport(app.test_client()), token=device.token, device_id=device.device_id)


# --- Writes going on during the backup --------------------------------------------------------------------


class Writer(threading.Thread):
    """A second tablet registering letters (each with a canary) as fast as it can, until stopped."""

    def __init__(self, app: Flask, device: SyncClient) -> None:
        super().__init__(daemon=True)
        self.client = SyncClient(test_client_transport(app.test_client()), device.token, device.device_id)
        self.acknowledged: list[tuple[float, str]] = []  # (monotonic time, appeal id)
        self.canaries: set[str] = set()
        self.halt = threading.Event()
        self.progress = threading.Condition()
        self.error: BaseException | None = None

    def run(self) -> None:
        outbox = Outbox()
        try:
            while not self.halt.is_set():
                appeal, canary = str(uuid.uuid4()), new_canary()
                self.canaries.add(canary)
                outbox.add("appeal.registered", appeal, registration(summary=f"Жазуу {canary}"))
                outbox.flush(self.client)
                assert outbox.needs_attention == []
                with self.progress:
                    self.acknowledged.append((time.monotonic(), appeal))
                    self.progress.notify_all()
        except BaseException as error:  # reported by the test that started it
            self.error = error
            with self.progress:
                self.progress.notify_all()

    def wait_for(self, count: int) -> None:
        with self.progress:
            assert self.progress.wait_for(lambda: len(self.acknowledged) >= count or self.error, timeout=60)
        assert self.error is None, self.error

    def acknowledged_between(self, start: float, end: float) -> set[str]:
        return {appeal for at, appeal in self.acknowledged if start <= at <= end}

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=60)
        assert self.error is None, self.error


# --- The drill ---------------------------------------------------------------------------------------------


def test_backup_drill(
    app: Flask,
    factory: Factory,
    targets: Targets,
    backup_key: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A school with letters, case work, openings and audited reads is backed up while a tablet keeps
    registering; the backup restores into a fresh instance with the same master key: the snapshot exactly,
    every letter readable, ``verify`` intact, and zero canaries (or any plaintext) in the backup file."""
    control = new_canary()  # stored in the clear in the database (a school's name): never in the backup
    school = factory.school(f"School {control}")
    made = write_letters(factory, school)
    commission = factory.device("commission", school)
    commission_changes, _ = commission.pull_all()  # reads, written to the audit trail
    assert_contents(commission_changes, made)
    writer = Writer(app, factory.device("pedagogue", school))
    # Small steps, so the copy spans many steps while the writer commits between them.
    monkeypatch.setattr(backup, "SQLITE_PAGES_PER_STEP", 4)
    writer.start()
    writer.wait_for(3)

    phases: list[tuple[str, int, int | None]] = []
    waited_during: list[float] = []

    def progress(phase: str, done: int, total: int | None) -> None:
        phases.append((phase, done, total))
        # Mid-copy (SQLite: pages still to copy; PostgreSQL: pg_dump under way on its exported snapshot),
        # the writer commits two more letters: the snapshot must not see them.
        if not waited_during and (phase == "dumping" or (phase == "snapshot" and total != done)):
            started = time.monotonic()
            writer.wait_for(len(writer.acknowledged) + 2)
            waited_during.extend((started, time.monotonic()))

    out = tmp_path / "school.backup"
    began = time.monotonic()
    with app.app_context():
        manifest, public = backup.take(out, progress)
    ended = time.monotonic()
    writer.stop()
    assert waited_during, phases
    assert public.key_id == crypto.load_backup_private_key(backup_key).public().key_id
    during = writer.acknowledged_between(*waited_during)
    assert len(during) >= 2
    before = writer.acknowledged_between(0, began)
    after = writer.acknowledged_between(ended, float("inf"))

    # The file: sealed, owner-only, and nothing readable in it.
    raw = out.read_bytes()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not out.with_name(out.name + ".partial").exists()
    assert raw.startswith(crypto.BACKUP_MAGIC)
    canaries = made.canaries | writer.canaries | {control}
    assert occurrences(raw, canaries) == []
    assert SQLITE_MAGIC not in raw and PG_DUMP_MAGIC not in raw
    assert b"CREATE TABLE" not in raw and b"appeal.registered" not in raw and b"alembic" not in raw

    # Restore into a fresh instance holding the same master key (and nothing else).
    target = targets.new()
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(backup_key))
    assert result.exit_code == 0, result.output
    assert "checking:" in result.output and "restoring:" in result.output  # progress, as plain lines
    restored = targets.app(target)  # the server started again on the restored database

    # Exactly the snapshot: the manifest's counts, every appeal as it was, none written after the copy began.
    counts = table_counts(restored)
    assert counts == manifest.tables
    assert counts["appeals"] >= 3 + 3 and counts["reads"] > 0 and counts["openings"] == 1
    assert counts["meetings"] == 1 and counts["events"] > 10
    rows, source_rows = appeal_rows(restored), appeal_rows(app)
    assert rows == {appeal: source_rows[appeal] for appeal in rows}
    restored_ids = {str(appeal) for appeal in rows}
    assert set(made.current) | before <= restored_ids
    assert not (during | after) & restored_ids
    assert len(source_rows) > len(rows)  # the source went on

    # Every letter opens for its readers; the journal and the reads verify.
    for device in (made.device, commission):
        pulled, _ = reader(restored, device).pull_all()
        ours = [c for c in pulled if c["entity"] != "appeal" or c["id"] in made.current]
        assert_contents(ours, made)
        theirs = {c["id"]: c["contents"]["summary"] for c in pulled if c["entity"] == "appeal"}
        theirs = {appeal: summary for appeal, summary in theirs.items() if appeal not in made.current}
        assert len(theirs) >= 3 and all(summary.split()[-1] in writer.canaries for summary in theirs.values())
    verified = invoke(restored, "verify")
    assert verified.exit_code == 0, verified.output
    assert found_in_database(restored, [control])  # the search finds what is stored in the clear
    confidential = made.canaries | writer.canaries
    assert found_in_database(restored, confidential) == []
    if not POSTGRES_URL:
        assert found_in_files(sqlite_files(restored), [control])
        assert found_in_files(sqlite_files(restored), confidential) == []
        database = target / "ishenim.sqlite3"
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert not list(target.glob(".restore-*")) and not list(Path(app.instance_path).glob(".backup-*"))


# --- Failures: nothing changed ------------------------------------------------------------------------------


@pytest.fixture
def taken(app: Flask, factory: Factory, backup_key: Path, tmp_path: Path) -> tuple[Path, Letters]:
    """A backup of a school with letters, through the command as an operator runs it."""
    made = write_letters(factory, factory.school())
    out = tmp_path / "nightly.backup"
    result = invoke(app, "backup", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and "master key is not in it" in result.output
    return out, made


def assert_empty(targets: Targets, target: Path) -> None:
    """The target holds no row (beyond a migration's revision) and no leftover file of a restore."""
    app = targets.app(target)
    with app.app_context(), db.engine.connect() as conn:
        assert backup.occupied_tables(conn) == {}
    assert not list(target.glob(".restore-*"))


def test_restore_with_another_private_key_is_refused(
    targets: Targets, taken: tuple[Path, Letters], custody: Path
) -> None:
    out, _ = taken
    other = custody / "other.key"
    other.write_text(crypto.BackupPrivateKey.generate().to_text())
    target = targets.new()
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(other))
    assert result.exit_code == 1
    assert "sealed for backup key" in result.output and "Traceback" not in result.output
    assert_empty(targets, target)


def test_restore_with_the_public_key_says_so(targets: Targets, taken: tuple[Path, Letters], instance: Path) -> None:
    out, _ = taken
    target = targets.new()
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(instance / "backup.pub"))
    assert result.exit_code == 1
    assert "other half of the pair" in result.output
    assert_empty(targets, target)


@pytest.mark.parametrize(
    "damage",
    ["header", "first-byte-of-data", "middle", "tag", "truncated-tail", "truncated-half", "appended", "empty"],
)
def test_tampered_or_truncated_backup_restores_nothing(
    targets: Targets, taken: tuple[Path, Letters], backup_key: Path, damage: str
) -> None:
    """Any change to the file is found before anything is written: the target stays empty."""
    out, _ = taken
    raw = bytearray(out.read_bytes())
    middle = len(raw) // 2
    if damage == "header":
        raw[30] ^= 0x01  # the ephemeral public key
    elif damage == "first-byte-of-data":
        raw[crypto.BACKUP_HEADER_BYTES + 4] ^= 0x01
    elif damage == "middle":
        raw[middle] ^= 0x80
    elif damage == "tag":
        raw[-1] ^= 0x01
    elif damage == "truncated-tail":
        del raw[-1:]
    elif damage == "truncated-half":
        del raw[middle:]
    elif damage == "appended":
        raw += b"\x00"
    else:
        raw.clear()
    out.write_bytes(bytes(raw))
    target = targets.new(migrated=True)
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(backup_key))
    assert result.exit_code == 1, result.output
    assert "Not restored" in result.output and "Traceback" not in result.output
    assert_empty(targets, target)


def test_a_file_changed_during_the_restore_leaves_nothing(
    app: Flask,
    factory: Factory,
    targets: Targets,
    backup_key: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The file passes its check, then is altered before its last chunk is read again: the restore stops
    halfway (on PostgreSQL, pg_restore is killed inside its single transaction), and nothing remains."""
    write_letters(factory, factory.school())
    out = tmp_path / "small-chunks.backup"
    monkeypatch.setattr(backup, "CHUNK_BYTES", 4096)
    with app.app_context():
        backup.take(out)
    size = out.stat().st_size
    assert size > 10 * 4096

    def progress(phase: str, done: int, total: int | None) -> None:
        if phase == "restoring" and not altered:  # the check is over; the first chunk is being restored
            assert done < size // 4
            with out.open("r+b") as handle:
                handle.seek(size * 3 // 5)
                byte = handle.read(1)
                handle.seek(size * 3 // 5)
                handle.write(bytes([byte[0] ^ 0x01]))
            altered.append(done)

    altered: list[int] = []
    target = targets.new()
    target_app = targets.app(target)
    with target_app.app_context(), pytest.raises(crypto.BackupCorrupt, match="altered"):
        backup.restore(out, crypto.load_backup_private_key(backup_key), progress)
    assert altered
    assert_empty(targets, target)
    with targets.app(target).app_context(), db.engine.connect() as conn:
        assert inspect(conn).get_table_names() == []  # not even the tables pg_restore had created


def test_restore_refuses_a_target_that_holds_a_school(
    app: Flask, taken: tuple[Path, Letters], backup_key: Path, instance: Path
) -> None:
    """Restoring over data is refused with a clear message; the database is untouched."""
    out, _ = taken
    before = table_counts(app)
    rows = appeal_rows(app)
    result = invoke(app, "restore", "--in", str(out), "--key", str(backup_key))
    assert result.exit_code == 1
    assert "already holds 1 school(s)" in result.output and "nothing was changed" in result.output
    assert table_counts(app) == before and appeal_rows(app) == rows


def test_restore_without_the_master_key_is_refused(
    targets: Targets, taken: tuple[Path, Letters], backup_key: Path
) -> None:
    """No master key in the target: its start made one, which opens nothing; the restore is refused, that
    key removed again, and the message says where the right key goes."""
    out, _ = taken
    target = targets.new(with_master_key=False)
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(backup_key))
    assert result.exit_code == 1
    assert "does not open this backup" in result.output and "the one this start made was removed" in result.output
    assert not (target / "master.key").exists()
    assert_empty(targets, target)


def test_restore_with_another_master_key_is_refused(
    targets: Targets, taken: tuple[Path, Letters], backup_key: Path
) -> None:
    out, _ = taken
    target = targets.new(with_master_key=False)
    other = crypto.create_master_key(target / "master.key")
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(backup_key))
    assert result.exit_code == 1
    assert "does not open this backup" in result.output
    assert crypto.load_master_key(target / "master.key") == other  # a key the operator put there stays
    assert_empty(targets, target)


def test_restore_into_a_migrated_empty_database(
    targets: Targets, taken: tuple[Path, Letters], backup_key: Path
) -> None:
    """A target that was migrated but holds nothing is empty: the restore replaces its empty tables."""
    out, made = taken
    target = targets.new(migrated=True)
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(backup_key))
    assert result.exit_code == 0, result.output
    restored = targets.app(target)
    pulled, _ = reader(restored, made.device).pull_all()
    assert_contents(pulled, made)
    assert invoke(restored, "verify").exit_code == 0


def test_a_damaged_data_key_is_found_after_writing_and_undone(
    app: Flask, targets: Targets, taken: tuple[Path, Letters], backup_key: Path, tmp_path: Path
) -> None:
    """A database whose data key was damaged before the backup: the master key opens the manifest's samples
    but not every key, so the restore is refused and what it wrote is undone."""
    _, made = taken
    with app.app_context():
        rows = db.session.execute(text("SELECT id, wrapped FROM data_keys ORDER BY id DESC LIMIT 1")).one()
        damaged = bytes(rows.wrapped[:-1]) + bytes([rows.wrapped[-1] ^ 1])
        db.session.execute(text("UPDATE data_keys SET wrapped = :w WHERE id = :id"), {"w": damaged, "id": rows.id})
        db.session.commit()
    out = tmp_path / "damaged.backup"
    assert invoke(app, "backup", "--out", str(out)).exit_code == 0
    target = targets.new()
    result = invoke(targets.app(target), "restore", "--in", str(out), "--key", str(backup_key))
    assert result.exit_code == 1
    assert "1 data key(s) of the backup do not open" in result.output
    assert_empty(targets, target)
    assert made.canaries


def test_backup_needs_the_public_key_and_never_replaces_a_file(app: Flask, custody: Path) -> None:
    out = custody / "b.backup"
    result = invoke(app, "backup", "--out", str(out))
    assert result.exit_code == 1 and "backup-key --out" in result.output
    assert not out.exists()
    assert invoke(app, "backup-key", "--out", str(custody / "k")).exit_code == 0
    out.write_bytes(b"precious")
    result = invoke(app, "backup", "--out", str(out))
    assert result.exit_code == 1 and "never replaces" in result.output
    assert out.read_bytes() == b"precious"


def test_backup_key_keeps_the_pair_it_has(app: Flask, custody: Path, instance: Path) -> None:
    """A second ``backup-key`` would orphan the backups made so far: refused without --replace; the private
    key never goes into the instance."""
    assert invoke(app, "backup-key", "--out", str(custody / "first.key")).exit_code == 0
    public = (instance / "backup.pub").read_text()
    again = invoke(app, "backup-key", "--out", str(custody / "second.key"))
    assert again.exit_code == 1 and "--replace" in again.output
    assert (instance / "backup.pub").read_text() == public and not (custody / "second.key").exists()
    for inside in (instance / "private.key", instance / "sub" / "private.key"):
        refused = invoke(app, "backup-key", "--out", str(inside), "--replace")
        assert refused.exit_code == 1 and "outside the instance" in refused.output
        assert not inside.exists()
    exists = invoke(app, "backup-key", "--out", str(custody / "first.key"), "--replace")
    assert exists.exit_code == 1 and (instance / "backup.pub").read_text() == public
    replaced = invoke(app, "backup-key", "--out", str(custody / "second.key"), "--replace")
    assert replaced.exit_code == 0
    assert (instance / "backup.pub").read_text() != public


def test_public_key_from_the_environment(
    app: Flask, tmp_path: Path, instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ISHENIM_BACKUP_PUBLIC_KEY`` stands in for the file."""
    private = crypto.BackupPrivateKey.generate()
    env_app = make_app(instance, monkeypatch, ISHENIM_BACKUP_PUBLIC_KEY=private.public().to_text())
    out = tmp_path / "env.backup"
    try:
        assert invoke(env_app, "backup", "--out", str(out)).exit_code == 0
    finally:
        with env_app.app_context():
            db.engine.dispose()
    assert not (instance / "backup.pub").exists()
    with out.open("rb") as handle:
        assert b"".join(crypto.open_backup(private, handle))


# --- Progress ----------------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_and_lines_otherwise() -> None:
    terminal = _Terminal()
    bar = Progress({"re-wrapping": "data keys"}, file=terminal)
    for done in range(0, 1001, 100):
        bar("re-wrapping", done, 1000)
    bar.close()
    assert "re-wrapping" in terminal.getvalue() and "1000/1000" in terminal.getvalue()
    assert "#" in terminal.getvalue()

    log = io.StringIO()
    lines = Progress({"re-wrapping": "data keys"}, file=log)
    for done in range(0, 1001, 10):
        lines("re-wrapping", done, 1000)
    lines("dumping", 200 << 20, None)
    lines.close()
    shown = log.getvalue().splitlines()
    assert shown[0] == "re-wrapping: 0 data keys of 1000 data keys"
    assert shown[10] == "re-wrapping: 1000 data keys of 1000 data keys"
    assert len(shown) == 12 and shown[-1] == "dumping: 200.0 MiB"
    assert "\r" not in log.getvalue()


def test_school_ids_survive(app: Flask, factory: Factory, targets: Targets, backup_key: Path, tmp_path: Path) -> None:
    """Integer keys and UUIDs are kept, so the tablets' cursors and ids still mean the same rows."""
    school = factory.school("Гимназия № 3")
    out = tmp_path / "ids.backup"
    assert invoke(app, "backup", "--out", str(out)).exit_code == 0
    target = targets.new()
    assert invoke(targets.app(target), "restore", "--in", str(out), "--key", str(backup_key)).exit_code == 0
    with targets.app(target).app_context():
        row = db.session.scalars(select(School)).one()
        assert (row.id, row.uuid, row.name) == (school.id, school.uuid, "Гимназия № 3")
