"""Encrypted backups of the whole database, and their restore into an empty instance.

Why it is built this way:

- **A consistent snapshot while the app runs.** On SQLite the backup API copies the file page by page
  from a connection that holds *one read transaction for the whole copy*: every page then comes from the
  same snapshot, and in WAL mode writers go on meanwhile. Without that transaction SQLite restarts the copy
  whenever another connection writes, and under steady writes it never finishes. On PostgreSQL we export a
  snapshot from a repeatable-read transaction, count the rows in it, and hand it to ``pg_dump
  --snapshot``, so the manifest describes exactly what was dumped.
- **Sealed for the backup key, not the master key** (``crypto.BackupSealer``). The server holds only the
  backup key's public half (``instance/backup.pub`` or ``ISHENIM_BACKUP_PUBLIC_KEY``); the private half is
  made by ``backup-key`` for the key custodian, who keeps it offline and brings it only to restore. So the
  server can make backups it cannot read, and a stolen server or backup disk does not open a backup.
- **The backup holds the database only, never the master key.** The letters inside are still sealed
  under data keys that the master key wraps. The master key is backed up separately (key custody,
  README), so a restore needs both the backup's private key and the master key, kept apart: whoever
  finds one backup medium holds nothing readable.
- **Checked before anything is written.** A restore reads and authenticates the whole file first (a
  truncated or altered file is only found at its end), checks that the master key in place opens the
  backup's data keys, and only then writes: on SQLite into a temporary file that is checked again and
  then renamed over the database; on PostgreSQL through ``pg_restore --single-transaction``, which is
  killed (and so rolls back) if the stream fails midway. A target that is not empty is refused.
- **No plaintext database on disk beyond the instance.** The SQLite snapshot passes through a temporary
  file in the instance folder (owner-only, beside the live database, removed at once); ``pg_dump``
  streams straight into the sealer. The output is written to ``FILE.partial`` and renamed when complete.

Inside the sealed stream: the manifest's length (4 bytes, big-endian), the manifest (JSON: kind, time,
migration revision, every table's row count, one wrapped data key per master key id), then the payload
(the SQLite file, or ``pg_dump --format=custom``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import Connection, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL

from server import crypto
from server.db import db
from server.models import DataKey, School
from server.services import keys

FORMAT = 1
SQLITE_PAGES_PER_STEP = 256  # pages copied per step of the backup API: 1 MiB at SQLite's 4 KiB pages
READ_BYTES = 1 << 20
CHUNK_BYTES = crypto.BACKUP_CHUNK_BYTES  # plaintext per sealed chunk
IGNORED_TABLES = frozenset({"alembic_version"})  # what a freshly migrated, still empty database holds

# (phase, done, total or None): how far a long operation is, for a progress bar or plain lines.
Progress = Callable[[str, int, int | None], None]


def _silent(_phase: str, _done: int, _total: int | None) -> None:
    return None


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


class RestoreRefused(BackupError):
    """The restore was refused before anything was changed (or after undoing what it had written)."""


@dataclass(frozen=True)
class Manifest:
    kind: str  # "sqlite" or "postgresql"
    taken_at: str
    revision: str | None
    tables: dict[str, int]
    samples: list[keys.Sample]
    payload_bytes: int | None  # known for SQLite; a pg_dump stream is measured as it goes

    def to_json(self) -> bytes:
        value: dict[str, Any] = asdict(self)
        value["format"] = FORMAT
        value["samples"] = [
            {**asdict(sample), "wrapped": base64.b64encode(sample.wrapped).decode()} for sample in self.samples
        ]
        return json.dumps(value, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            value = json.loads(raw)
            if value.pop("format") != FORMAT:
                raise crypto.BackupCorrupt("the backup was made by a newer version of Ishenim")
            value["samples"] = [
                keys.Sample(**{**sample, "wrapped": base64.b64decode(sample["wrapped"])}) for sample in value["samples"]
            ]
            return cls(**value)
        except (ValueError, KeyError, TypeError) as exc:
            raise crypto.BackupCorrupt("the backup's manifest is not readable") from exc

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# --- Taking a backup ----------------------------------------------------------------------------------


def public_key() -> crypto.BackupPublicKey:
    """The backup key's public half, from the environment or the instance's file."""
    config = current_app.config
    if config.get("ISHENIM_BACKUP_PUBLIC_KEY"):
        return crypto.BackupPublicKey.from_text(config["ISHENIM_BACKUP_PUBLIC_KEY"])
    path = Path(config["ISHENIM_BACKUP_PUBLIC_KEY_FILE"])
    if not path.exists():
        raise BackupError(
            f"There is no backup public key at {path}. Run `flask --app wsgi backup-key --out FILE` once, and "
            "give FILE (the private half) to the key custodian."
        )
    return crypto.load_backup_public_key(path)


def make_key_pair(private_out: Path, replace: bool = False) -> crypto.BackupPublicKey:
    """A new backup key pair: the private half to ``private_out`` (0600, for the custodian), the public
    half to the instance, where backups find it."""
    public_path = Path(current_app.config["ISHENIM_BACKUP_PUBLIC_KEY_FILE"])
    if public_path.exists() and not replace:
        raise BackupError(
            f"A backup public key exists already at {public_path}. Backups made with it need its private key; "
            "to start using a new pair anyway, run again with --replace."
        )
    if private_out.resolve().is_relative_to(Path(current_app.instance_path).resolve()):
        raise BackupError("Write the private key outside the instance folder: it must not stay on the server.")
    private = crypto.BackupPrivateKey.generate()
    try:
        crypto.write_secret_file(private_out, private.to_text())
    except FileExistsError:
        raise BackupError(f"{private_out} exists; choose another file for the private key.") from None
    crypto.write_secret_file(public_path, private.public().to_text(), replace=True)
    return private.public()


def take(out: Path, progress: Progress = _silent) -> tuple[Manifest, crypto.BackupPublicKey]:
    """Snapshot the database while the app runs, and seal it into ``out`` for the backup public key."""
    recipient = public_key()
    if out.exists():
        raise BackupError(f"{out} exists; a backup never replaces a file.")
    partial = out.with_name(out.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            sealer = crypto.BackupSealer(recipient, handle, CHUNK_BYTES)
            if db.engine.dialect.name == "sqlite":
                manifest = _take_sqlite(sealer, progress)
            else:
                manifest = _take_postgres(sealer, progress)
            sealer.close()
            handle.flush()
            os.fsync(handle.fileno())
        os.link(partial, out)  # complete, under its name; never over a file that appeared meanwhile
    except FileExistsError:
        raise BackupError(f"{out} exists; a backup never replaces a file.") from None
    finally:
        partial.unlink(missing_ok=True)
    crypto.sync_directory(out.parent)
    return manifest, recipient


def _write_manifest(sealer: crypto.BackupSealer, manifest: Manifest) -> None:
    raw = manifest.to_json()
    sealer.write(len(raw).to_bytes(4, "big") + raw)


def _count(conn: Connection, name: str) -> int:
    return int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())


def _summary(conn: Connection, kind: str, payload_bytes: int | None) -> Manifest:
    tables = {name: _count(conn, name) for name in sorted(inspect(conn).get_table_names())}
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return Manifest(
        kind=kind,
        taken_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        revision=revision,
        tables=tables,
        samples=keys.samples_by_master_key(conn),
        payload_bytes=payload_bytes,
    )


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("The database is not a file; there is nothing to back up.")
    return Path(database)


def _private_temporary(folder: Path, label: str) -> Path:
    """An empty owner-only file in ``folder`` (the instance), for a plaintext snapshot that lives briefly."""
    path = folder / f".{label}-{secrets.token_hex(8)}.sqlite3"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _take_sqlite(sealer: crypto.BackupSealer, progress: Progress) -> Manifest:
    database = _sqlite_path()
    snapshot = _private_temporary(database.parent, "backup")
    try:
        source = sqlite3.connect(database, isolation_level=None)
        try:
            source.execute("PRAGMA busy_timeout=10000")
            # One read transaction for the whole copy: every page from the same snapshot (see above).
            source.execute("BEGIN")
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()
            target = sqlite3.connect(snapshot)
            try:
                source.backup(
                    target,
                    pages=SQLITE_PAGES_PER_STEP,
                    progress=lambda _status, remaining, total: progress("snapshot", total - remaining, total),
                )
            finally:
                target.close()
            source.execute("COMMIT")
        finally:
            source.close()
        size = snapshot.stat().st_size
        engine = create_engine(f"sqlite:///{snapshot}")
        try:
            with engine.connect() as conn:
                manifest = _summary(conn, "sqlite", size)
        finally:
            engine.dispose()
        _write_manifest(sealer, manifest)
        with snapshot.open("rb") as handle:
            while chunk := handle.read(READ_BYTES):
                sealer.write(chunk)
                progress("sealing", handle.tell(), size)
        return manifest
    finally:
        _remove_sqlite(snapshot)


def _pg_tool(name: str) -> str:
    configured = current_app.config.get("ISHENIM_PG_BIN")
    if configured:
        return str(Path(configured) / name)
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps the versioned tools here; the newest reads every older server's dumps.
    found_here = [p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if p.parts[-3].isdigit()]
    candidates = sorted(found_here, key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise BackupError(f"{name} is not installed (or set ISHENIM_PG_BIN to the folder that holds it).")
    return str(candidates[-1])


def _pg_connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment carrying it: never on a command line."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _tail(handle: IO[bytes]) -> str:
    handle.seek(0)
    lines = handle.read().decode(errors="replace").strip().splitlines()
    return " / ".join(lines[-3:]) or "no message"


def _take_postgres(sealer: crypto.BackupSealer, progress: Progress) -> Manifest:
    uri, env = _pg_connection(db.engine.url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            manifest = _summary(conn, "postgresql", None)
            _write_manifest(sealer, manifest)
            command = [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--dbname={uri}",
            ]
            with tempfile.TemporaryFile() as errors:
                with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env) as dump:  # noqa: S603
                    assert isinstance(dump.stdout, io.BufferedReader)
                    done = 0
                    while chunk := dump.stdout.read1(READ_BYTES):  # what is there: progress as it comes
                        sealer.write(chunk)
                        done += len(chunk)
                        progress("dumping", done, None)
                if dump.returncode != 0:
                    raise BackupError(f"pg_dump failed: {_tail(errors)}")
    return manifest


# --- Reading a backup ---------------------------------------------------------------------------------


class _Plaintext:
    """The opened stream: the manifest first, then the payload in chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise crypto.BackupCorrupt("the backup ends inside its manifest")
            self._buffer += chunk
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def manifest(self) -> Manifest:
        size = int.from_bytes(self.read_exactly(4), "big")
        return Manifest.from_json(self.read_exactly(size))

    def payload(self) -> Iterator[bytes]:
        if self._buffer:
            yield self._buffer
            self._buffer = b""
        yield from self._chunks


def _open(path: Path, key: crypto.BackupPrivateKey, phase: str, progress: Progress) -> Iterator[bytes | Manifest]:
    """The manifest, then the payload's chunks; reports how much of the file was read."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        stream = _Plaintext(crypto.open_backup(key, handle))
        manifest = stream.manifest()
        yield manifest
        done = 0
        for chunk in stream.payload():
            done += len(chunk)
            progress(phase, handle.tell(), size)
            yield chunk
    if manifest.payload_bytes is not None and done != manifest.payload_bytes:
        raise crypto.BackupCorrupt("the backup's payload is not as long as its manifest says")


def check(path: Path, key: crypto.BackupPrivateKey, progress: Progress = _silent) -> Manifest:
    """Read the whole file and authenticate every chunk; the manifest, or ``CryptoError``."""
    parts = _open(path, key, "checking", progress)
    manifest = next(parts)
    assert isinstance(manifest, Manifest)
    for _ in parts:
        pass
    return manifest


def _payload(path: Path, key: crypto.BackupPrivateKey, progress: Progress) -> Iterator[bytes]:
    parts = _open(path, key, "restoring", progress)
    next(parts)
    for chunk in parts:
        assert isinstance(chunk, bytes)
        yield chunk


# --- Restoring ----------------------------------------------------------------------------------------


def occupied_tables(conn: Connection) -> dict[str, int]:
    """The tables holding rows (a migrated but unused database holds only its migration revision)."""
    found = {}
    for name in inspect(conn).get_table_names():
        if name not in IGNORED_TABLES and (count := _count(conn, name)):
            found[name] = count
    return found


def _refuse_unless_empty() -> None:
    with db.engine.connect() as conn:
        occupied = occupied_tables(conn)
    if occupied:
        schools = occupied.get(School.__tablename__, 0)
        held = f"{schools} school(s)" if schools else f"rows in {', '.join(sorted(occupied))}"
        raise RestoreRefused(
            f"The target database already holds {held}. A restore goes only into an empty instance (a new "
            "database, or one just migrated); nothing was changed."
        )


def _check_master_key(manifest: Manifest) -> None:
    try:
        keys.check_samples(keys.keyring(max_age=0), manifest.samples)
    except crypto.CryptoError as exc:
        key_file = keys.key_file(current_app)
        made = ""
        if keys.created_at_start() and key_file.exists():
            # This start found no key and made one, which wraps nothing yet: it is not the key wanted.
            key_file.unlink()
            made = " There was no master key, and the one this start made was removed again."
        raise RestoreRefused(
            f"The master key does not open this backup's letters ({exc}).{made} Put the master key the backup "
            f"was taken under (from key custody) at {key_file}, and run restore again. Nothing was changed."
        ) from exc


def _check_restored(conn: Connection, manifest: Manifest) -> None:
    """What was written is what was backed up: every table's row count, and every data key opens."""
    tables = {name: _count(conn, name) for name in manifest.tables}
    differing = sorted(name for name, count in tables.items() if count != manifest.tables[name])
    if differing:
        raise RestoreRefused(f"The restored rows differ from the backup's manifest in {', '.join(differing)}.")
    ring = keys.keyring(max_age=0)
    rows = conn.execute(
        select(DataKey.key_id, School.uuid, DataKey.owner, DataKey.wrapped)
        .join(School)
        .where(DataKey.key_id != keys.ERASED)
    )
    closed = 0
    for key_id, school, owner, wrapped in rows:
        try:
            crypto.unwrap_data_key(ring.get(key_id), bytes(wrapped), str(school), str(owner))
        except crypto.CryptoError:
            closed += 1
    if closed:
        raise RestoreRefused(f"{closed} data key(s) of the backup do not open with the master key in place.")


def restore(path: Path, key: crypto.BackupPrivateKey, progress: Progress = _silent) -> Manifest:
    """Restore ``path`` into this (empty) instance's database; refuse, changing nothing, when it cannot."""
    _refuse_unless_empty()
    manifest = check(path, key, progress)
    dialect = db.engine.dialect.name
    if manifest.kind != dialect:
        raise RestoreRefused(f"This is a backup of a {manifest.kind} database; the target is {dialect}.")
    _check_master_key(manifest)
    # No connection of ours may hold the database (a lock, or the SQLite file) while it is replaced.
    db.session.remove()
    db.engine.dispose()
    if dialect == "sqlite":
        _restore_sqlite(path, key, manifest, progress)
    else:
        _restore_postgres(path, key, manifest, progress)
    return manifest


def _restore_sqlite(path: Path, key: crypto.BackupPrivateKey, manifest: Manifest, progress: Progress) -> None:
    database = _sqlite_path()
    staged = _private_temporary(database.parent, "restore")
    try:
        with staged.open("wb") as handle:
            for chunk in _payload(path, key, progress):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        engine = create_engine(f"sqlite:///{staged}")
        try:
            with engine.connect() as conn:
                if conn.exec_driver_sql("PRAGMA integrity_check").scalar() != "ok":
                    raise RestoreRefused("The restored SQLite file fails its integrity check.")
                _check_restored(conn, manifest)
        finally:
            engine.dispose()
        # The target's own WAL belongs to the old file: checkpoint it away, so it is never replayed onto
        # the restored one (the server must be stopped; the target was checked to be empty).
        if database.exists():
            old = sqlite3.connect(database, isolation_level=None)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        os.replace(staged, database)
        crypto.sync_directory(database.parent)
    finally:
        _remove_sqlite(staged)


def _restore_postgres(path: Path, key: crypto.BackupPrivateKey, manifest: Manifest, progress: Progress) -> None:
    uri, env = _pg_connection(db.engine.url)
    # One transaction: a stream that fails midway kills pg_restore, and the server rolls everything back.
    # --clean drops the empty tables a migrated target already has; it was checked to hold no rows.
    command = [
        _pg_tool("pg_restore"),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--clean",
        "--if-exists",
        f"--dbname={uri}",
    ]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 (our own tool and arguments)
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=env
        )
        assert process.stdin is not None
        try:
            for chunk in _payload(path, key, progress):
                process.stdin.write(chunk)
        except BrokenPipeError:
            pass  # pg_restore stopped on an error of its own: its status and message tell
        except BaseException:
            process.kill()  # before its input ends: the server rolls the whole transaction back
            process.wait()
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            raise
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        if process.wait() != 0:
            raise RestoreRefused(f"pg_restore failed and rolled back: {_tail(errors)}")
    try:
        with db.engine.connect() as conn:
            _check_restored(conn, manifest)
    except RestoreRefused:
        with db.engine.begin() as conn:
            names = ", ".join(f'"{name}"' for name in manifest.tables)
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {names} CASCADE")
        raise
    finally:
        db.engine.dispose()
