"""The server's master key and the per-record data keys it wraps.

The master key lives outside the database (a key file or the environment). The app refuses to start
when the database holds encrypted data and the key is missing or is not the one that wrapped it: a new
key would make every letter unreadable, so it is never made up silently.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import inspect, select

from server import crypto
from server.db import db
from server.models import DataKey, School

EXTENSION = "ishenim.keyring"


class StartupError(Exception):
    """The app cannot start safely; the message says what to do."""


def _load_keyring(app: Flask) -> crypto.Keyring | None:
    if app.config.get("ISHENIM_MASTER_KEY"):
        return crypto.Keyring(crypto.MasterKey.from_text(app.config["ISHENIM_MASTER_KEY"]))
    try:
        return crypto.Keyring(crypto.load_master_key(Path(app.config["ISHENIM_KEY_FILE"])))
    except crypto.MasterKeyMissing:
        return None


def init_app(app: Flask) -> None:
    """Load the master key, check it against the database, create it for a database with no data yet."""
    try:
        keyring = _load_keyring(app)
    except crypto.MasterKeyInvalid as exc:
        raise StartupError(f"The master key is unreadable ({exc}). Restore it from the key backup.") from exc
    with app.app_context():
        sample = None
        if inspect(db.engine).has_table(DataKey.__tablename__):
            sample = db.session.execute(select(DataKey, School.uuid).join(School).limit(1)).first()
        db.session.remove()
        # No connection outlives the check: a worker forked after start-up must not share one.
        db.engine.dispose()
    if sample is not None:
        if keyring is None:
            raise StartupError(
                f"The database holds encrypted letters but there is no master key at "
                f"{app.config['ISHENIM_KEY_FILE']} (or in ISHENIM_MASTER_KEY). Restore the key from its "
                "backup; Ishenim will not make a new one, which would leave every letter unreadable."
            )
        data_key, school_uuid = sample
        try:
            crypto.unwrap_data_key(
                keyring.get(data_key.key_id), data_key.wrapped, str(school_uuid), str(data_key.owner)
            )
        except crypto.CryptoError as exc:
            raise StartupError(
                "The master key does not open the letters in this database: it is not the key they were "
                f"encrypted with ({exc}). Restore the right key; nothing was changed."
            ) from exc
    elif keyring is None:
        keyring = crypto.Keyring(crypto.create_master_key(Path(app.config["ISHENIM_KEY_FILE"])))
    app.extensions[EXTENSION] = keyring


def keyring() -> crypto.Keyring:
    ring: crypto.Keyring = current_app.extensions[EXTENSION]
    return ring


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


def open_data_key(row: DataKey, school: School) -> bytes:
    return crypto.unwrap_data_key(keyring().get(row.key_id), row.wrapped, str(school.uuid), str(row.owner))
