"""Configuration from the environment, with defaults for a single school on embedded SQLite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from server.limiter_storage import uri_for
from sync.events import MAX_BODY_BYTES


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'ishenim.sqlite3'}"
    # psycopg 3 is the driver we ship; plain postgresql:// would make SQLAlchemy look for psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "ISHENIM_KEY_FILE": os.environ.get("ISHENIM_KEY_FILE", str(Path(instance_path) / "master.key")),
        # The master key may come from the environment instead of a file (base64 of 32 bytes).
        "ISHENIM_MASTER_KEY": os.environ.get("ISHENIM_MASTER_KEY"),
        # Backups are sealed for the backup key's public half (server/services/backup.py); its private half
        # stays with the key custodian. The text of the public key may come from the environment instead.
        "ISHENIM_BACKUP_PUBLIC_KEY_FILE": os.environ.get(
            "ISHENIM_BACKUP_PUBLIC_KEY_FILE", str(Path(instance_path) / "backup.pub")
        ),
        "ISHENIM_BACKUP_PUBLIC_KEY": os.environ.get("ISHENIM_BACKUP_PUBLIC_KEY"),
        # Where pg_dump and pg_restore are, when not on PATH (e.g. /usr/lib/postgresql/15/bin).
        "ISHENIM_PG_BIN": os.environ.get("ISHENIM_PG_BIN"),
        "TOKEN_TTL_DAYS": int(os.environ.get("ISHENIM_TOKEN_TTL_DAYS", "30")),
        # Password guesses (server/throttle.py): failed checks per account, logins per address.
        "LOGIN_ACCOUNT_LIMIT": os.environ.get("ISHENIM_LOGIN_ACCOUNT_LIMIT", "5 per minute"),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("ISHENIM_LOGIN_ADDRESS_LIMIT", "30 per minute"),
        # Counted in a file every worker shares; a district of several machines names redis:// or memcached://
        # (memcached needs ISHENIM_RATELIMIT_STRATEGY=fixed-window).
        "RATELIMIT_STORAGE_URI": os.environ.get("ISHENIM_RATELIMIT_STORAGE_URI")
        or uri_for(str(Path(instance_path) / "ratelimit.sqlite3")),
        "RATELIMIT_STRATEGY": os.environ.get("ISHENIM_RATELIMIT_STRATEGY", "moving-window"),
        # How many reverse proxies in front to believe about the client's address and scheme (0: none).
        "TRUSTED_PROXIES": int(os.environ.get("ISHENIM_TRUSTED_PROXIES", "0")),
        # For check-deploy (server/services/deploy_check.py): the https:// address users open, and the folder
        # the nightly backup writes to.
        "PUBLIC_URL": os.environ.get("ISHENIM_PUBLIC_URL"),
        "BACKUP_DIR": os.environ.get("ISHENIM_BACKUP_DIR"),
        # Argon2id as argon2-cffi recommends (RFC 9106 low-memory profile); tests lower the cost.
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_KIB": 64 * 1024,
        "ARGON2_PARALLELISM": 4,
        "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
        "API_TITLE": "Ishenim",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
