"""The server's master key and the per-record data keys it wraps.

The master key lives outside the database (a key file or the environment). The app refuses to start
when the database holds encrypted data and the key is missing or is not the one that wrapped it: a new
key would make every letter unreadable, so it is never made up silently.

During a master-key rotation (``server/services/rotation.py``) the new key waits in a second file beside
the first, ``<key file>.next``: while it exists it is the current key (it wraps new data keys) and the
old one still opens what it wrapped. A running app notices the files change, at most a second late for
wrapping and at once for a key id it does not know, so a rotation can run while the app serves.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Connection, func, inspect, select

from server import crypto
from server.db import db
from server.models import DataKey, School

EXTENSION = "ishenim.keyring"
CREATED = "ishenim.key_created"  # True when this start made the master key (the database had no data keys)
NEXT_SUFFIX = ".next"
# How stale a running app's idea of the current key may get: a rotation's ``--finish`` waits longer.
RELOAD_SECONDS = 1.0
log = logging.getLogger(__name__)
# The ``key_id`` of a destroyed data key, whose ``wrapped`` is empty (``destroy_data_key``). Not a key id
# any master key can have (those are hex), so nothing looks such a row up in the keyring by mistake:
# code that walks every data key (the start-up check, a rotation) skips ``key_id == ERASED``.
ERASED = "erased"


class StartupError(Exception):
    """The app cannot start safely; the message says what to do."""


def key_file(app: Flask) -> Path:
    return Path(app.config["ISHENIM_KEY_FILE"])


def next_key_file(app: Flask) -> Path:
    """Where a rotation's new master key waits until ``rotate-key --finish`` moves it over the old one."""
    path = key_file(app)
    return path.with_name(path.name + NEXT_SUFFIX)


def _load_optional(path: Path) -> crypto.MasterKey | None:
    try:
        return crypto.load_master_key(path)
    except crypto.MasterKeyMissing:
        return None


def _load_keyring(app: Flask) -> crypto.Keyring | None:
    if app.config.get("ISHENIM_MASTER_KEY"):
        return crypto.Keyring(crypto.MasterKey.from_text(app.config["ISHENIM_MASTER_KEY"]))
    # The next key is read first: ``--finish`` renames it over the key file, and in this order a reader
    # racing that rename still finds the new key (as next, or as the key file), never only the old one.
    upcoming = _load_optional(next_key_file(app))
    current = _load_optional(key_file(app))
    if upcoming is not None:
        return crypto.Keyring(upcoming, *([current] if current is not None else []))
    return crypto.Keyring(current) if current is not None else None


def _signature(app: Flask) -> tuple[tuple[int, int, int] | None, ...]:
    """What identifies the key files' contents without reading them: inode, size and mtime of each."""
    found: list[tuple[int, int, int] | None] = []
    for path in (next_key_file(app), key_file(app)):
        try:
            st = path.stat()
        except FileNotFoundError:
            found.append(None)
        else:
            found.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(found)


@dataclass
class _LiveKeyring:
    """The app's keyring, reloaded when the key files change (a rotation run from the command line)."""

    app: Flask
    ring: crypto.Keyring
    signature: tuple[tuple[int, int, int] | None, ...]
    checked: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, max_age: float) -> crypto.Keyring:
        if self.app.config.get("ISHENIM_MASTER_KEY") or time.monotonic() - self.checked < max_age:
            return self.ring
        with self.lock:
            self.checked = time.monotonic()
            signature = _signature(self.app)  # taken before the files are read, as at start-up
            if signature != self.signature:
                try:
                    ring = _load_keyring(self.app)
                except crypto.MasterKeyInvalid:
                    ring = None
                if ring is None:  # a key file vanished or is damaged: keep serving with the keys in memory
                    log.warning("The master key files changed and do not load; keeping the keys already loaded.")
                else:
                    self.ring, self.signature = ring, signature
        return self.ring


def init_app(app: Flask) -> None:
    """Load the master key, check it against the database, create it for a database with no data yet."""
    signature = _signature(app)  # before reading: a change after the read is then seen as a change
    try:
        keyring = _load_keyring(app)
    except crypto.MasterKeyInvalid as exc:
        raise StartupError(f"The master key is unreadable ({exc}). Restore it from the key backup.") from exc
    with app.app_context():
        samples = []
        if inspect(db.engine).has_table(DataKey.__tablename__):
            samples = samples_by_master_key()
        db.session.remove()
        # No connection outlives the check: a worker forked after start-up must not share one.
        db.engine.dispose()
    created = False
    if samples:
        if keyring is None:
            raise StartupError(
                f"The database holds encrypted letters but there is no master key at "
                f"{app.config['ISHENIM_KEY_FILE']} (or in ISHENIM_MASTER_KEY). Restore the key from its "
                "backup; Ishenim will not make a new one, which would leave every letter unreadable."
            )
        try:
            check_samples(keyring, samples)
        except crypto.CryptoError as exc:
            raise StartupError(
                "The master key does not open the letters in this database: it is not the key they were "
                f"encrypted with ({exc}). Restore the right key; nothing was changed."
            ) from exc
    elif keyring is None:
        keyring = crypto.Keyring(crypto.create_master_key(key_file(app)))
        signature, created = _signature(app), True
    app.extensions[EXTENSION] = _LiveKeyring(app, keyring, signature)
    app.extensions[CREATED] = created


@dataclass(frozen=True)
class Sample:
    """One data key wrapped by a given master key, enough to tell whether a keyring opens that key's rows."""

    key_id: str
    school: str
    owner: str
    wrapped: bytes


def samples_by_master_key(conn: Connection | None = None) -> list[Sample]:
    """One data key per master key id in use (the oldest), erased keys left out. During a rotation the
    database holds two ids, and a start-up that holds only one of the keys must be refused. ``conn``: a
    database other than the app's (a backup's snapshot)."""
    first = select(func.min(DataKey.id)).where(DataKey.key_id != ERASED).group_by(DataKey.key_id)
    rows = (conn or db.session).execute(
        select(DataKey.key_id, School.uuid, DataKey.owner, DataKey.wrapped).join(School).where(DataKey.id.in_(first))
    )
    return [Sample(key_id, str(school), str(owner), bytes(wrapped)) for key_id, school, owner, wrapped in rows]


def check_samples(ring: crypto.Keyring, samples: list[Sample]) -> None:
    """Raise a ``CryptoError`` unless ``ring`` opens every sample."""
    for sample in samples:
        crypto.unwrap_data_key(ring.get(sample.key_id), sample.wrapped, sample.school, sample.owner)


def created_at_start() -> bool:
    """Whether this start made the master key (so it wraps nothing yet); ``restore`` wants the real one."""
    return bool(current_app.extensions.get(CREATED))


def keyring(max_age: float = RELOAD_SECONDS) -> crypto.Keyring:
    """The master keys, reloaded from their files if they changed and were last looked at ``max_age`` ago."""
    live: _LiveKeyring = current_app.extensions[EXTENSION]
    return live.get(max_age)


def master_key(key_id: str) -> crypto.MasterKey:
    """The master key with this id; an id not yet known sends the app to its key files at once (a rotation
    may have just re-wrapped the row under a new key)."""
    try:
        return keyring().get(key_id)
    except crypto.UnknownKeyId:
        return keyring(max_age=0).get(key_id)


def create_data_key(school: School, owner: uuid.UUID) -> tuple[DataKey, bytes]:
    """A new data key for one record, stored wrapped; returns the row and the key for immediate use."""
    secret = crypto.new_data_key()
    master = keyring().current
    row = DataKey(
        school_id=school.id,
        owner=owner,
        key_id=master.key_id,
        wrapped=crypto.wrap_data_key(master, secret, str(school.uuid), str(owner)),
    )
    db.session.add(row)
    return row, secret


def destroy_data_key(row: DataKey) -> None:
    """Crypto-erasure: the wrapped key is overwritten, so whatever it sealed can never be opened again."""
    row.key_id, row.wrapped = ERASED, b""


def open_data_key(row: DataKey, school: School) -> bytes:
    return crypto.unwrap_data_key(master_key(row.key_id), row.wrapped, str(school.uuid), str(row.owner))
