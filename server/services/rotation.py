"""Master-key rotation: a new master key, and every data key re-wrapped under it, batch by batch.

The key files make it safe to stop at any point (``server/services/keys.py``):

1. ``start`` writes the new key to ``<key file>.next`` (owner-only, linked into place whole). From then on
   the keyring holds both keys: the new one wraps every new data key, the old one still opens the rows not
   yet re-wrapped. A running app notices within ``keys.RELOAD_SECONDS``; a key id it does not know sends
   it to the files at once, so it opens rows re-wrapped under its feet.
2. ``rewrap_batch`` re-wraps up to N data keys not under the new key. Each batch is its own transaction
   (the command commits it), so an interrupted rotation keeps every batch it committed: the rows carry the
   new key id, and running the command again resumes with the rest. Only the wrapping changes; the data
   keys themselves, and so every ciphertext, stay as they are.
3. ``finish``, once no row uses another key id, renames ``.next`` over the key file: one atomic step
   after which the old key is gone from the server. It is the custodian's to keep (offline, with the
   backups taken before the rotation, which need it) or destroy. ``finish`` waits until every running
   app has had time to switch to the new key, and counts under the write lock, so that no data key can be
   wrapped under the old key after the count.

A master key given in the environment (``ISHENIM_MASTER_KEY``) is not rotated here: the command cannot
rewrite the environment, and says so.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, text

from server import crypto
from server.db import db
from server.models import DataKey, School
from server.services import keys

BATCH_ROWS = 500


class RotationError(Exception):
    """The rotation cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class State:
    new: crypto.MasterKey
    old_ids: frozenset[str]  # the other key ids the database still uses
    remaining: int  # data keys not yet under the new key


def _refuse_environment_key() -> None:
    if current_app.config.get("ISHENIM_MASTER_KEY"):
        raise RotationError(
            "The master key comes from ISHENIM_MASTER_KEY, which this command cannot change. Move the key into "
            "the key file (ISHENIM_KEY_FILE) and unset the variable to rotate it here."
        )


def start() -> crypto.MasterKey:
    """The rotation's new key: the one waiting in ``.next`` (a rotation being resumed), or a new one."""
    _refuse_environment_key()
    upcoming = keys.next_key_file(current_app)
    if not upcoming.exists():
        if not keys.key_file(current_app).exists():
            raise RotationError(f"There is no master key at {keys.key_file(current_app)} to rotate.")
        crypto.create_master_key(upcoming)
    new = crypto.load_master_key(upcoming)
    if keys.keyring(max_age=0).current.key_id != new.key_id:
        raise RotationError(f"The app did not load the new key at {upcoming}.")
    return new


def state(new: crypto.MasterKey) -> State:
    others = (DataKey.key_id != new.key_id) & (DataKey.key_id != keys.ERASED)
    old_ids = frozenset(db.session.scalars(select(DataKey.key_id).where(others).distinct()))
    remaining = db.session.scalar(select(func.count()).select_from(DataKey).where(others)) or 0
    return State(new=new, old_ids=old_ids, remaining=remaining)


def rewrap_batch(new: crypto.MasterKey, limit: int = BATCH_ROWS) -> int:
    """Re-wrap up to ``limit`` data keys under ``new``; flushes, the caller commits. Returns how many."""
    ring = keys.keyring(max_age=0)
    query = (
        select(DataKey, School.uuid)
        .join(School)
        .where(DataKey.key_id != new.key_id, DataKey.key_id != keys.ERASED)
        .order_by(DataKey.id)
        .limit(limit)
        .with_for_update(of=DataKey)
    )
    rows = db.session.execute(query).all()
    for row, school in rows:
        try:
            secret = crypto.unwrap_data_key(ring.get(row.key_id), row.wrapped, str(school), str(row.owner))
        except crypto.CryptoError as exc:
            raise RotationError(
                f"The data key of record {row.owner} does not open ({exc}); nothing of this batch was changed. "
                "Run `flask --app wsgi verify`, and restore the missing key or the damaged row first."
            ) from exc
        row.wrapped = crypto.wrap_data_key(new, secret, str(school), str(row.owner))
        row.key_id = new.key_id
    db.session.flush()
    return len(rows)


def lock_data_keys() -> None:
    """Hold back every writer of data keys until commit (on SQLite the write lock already does)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE"))


def finish(new: crypto.MasterKey) -> None:
    """Make the new key the only one: ``.next`` renamed over the key file. The caller holds the write lock
    (``begin_write`` and ``lock_data_keys``) from before the count until after this returns."""
    upcoming, key_file = keys.next_key_file(current_app), keys.key_file(current_app)
    if crypto.load_master_key(upcoming).key_id != new.key_id:
        raise RotationError(f"{upcoming} changed during the rotation; nothing was finished.")
    left = state(new)
    if left.remaining:
        raise RotationError(
            f"{left.remaining} data key(s) still use the old key; run `flask --app wsgi rotate-key` to re-wrap them."
        )
    os.replace(upcoming, key_file)
    crypto.sync_directory(key_file.parent)
    keys.keyring(max_age=0)


def settle(new: crypto.MasterKey, settle_seconds: float = 2 * keys.RELOAD_SECONDS) -> None:
    """Wait until the new key file is old enough that every running app wraps under it."""
    age = time.time() - keys.next_key_file(current_app).stat().st_mtime
    if age < settle_seconds:
        time.sleep(settle_seconds - age)
