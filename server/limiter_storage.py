"""A ``limits`` storage on an SQLite file, so that every worker process of one server counts together.

Flask-Limiter's memory storage lives in one process: behind ``gunicorn --workers 2`` an attacker would get
twice the tries, and a restart would forget them. A school's server has no Redis, but it has a disk that all
its workers share, so the counters live in a small SQLite file of their own (WAL, busy timeout) beside the
database. A district with several machines points ``RATELIMIT_STORAGE_URI`` at ``redis://`` or
``memcached://`` instead; this class registers the ``ishenim+sqlite`` scheme for ``limits`` to find.

Keys are stored as their SHA-256: a key names a username or an address, and the file need not keep either.
Each thread of each process keeps one connection (opened again after a fork: SQLite connections must not
cross one). A connection per call would close the last handle on the WAL each time, and that checkpoint
costs about 15 ms of disk; a kept one costs about 0.1 ms per hit.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any

from limits.storage import MovingWindowSupport, Storage

SCHEME = "ishenim+sqlite"

SCHEMA = (
    # Fixed window: one counter per key, expiring a window after its first hit.
    "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL)",
    # Moving window: one row per hit, counted over the last window.
    "CREATE TABLE IF NOT EXISTS entries (key TEXT NOT NULL, at REAL NOT NULL, expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_by_key ON entries (key, at)",
    "CREATE INDEX IF NOT EXISTS entries_by_expiry ON entries (expires_at)",
    "CREATE INDEX IF NOT EXISTS counters_by_expiry ON counters (expires_at)",
)


def uri_for(path: str) -> str:
    """The storage URI of an SQLite file (an absolute path)."""
    return f"{SCHEME}://{os.path.abspath(path)}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# Connections a forked child inherited: never used there, and never closed there either (closing one could
# act on the parent's WAL), only kept from the garbage collector.
_INHERITED: list[sqlite3.Connection] = []


class SQLiteStorage(Storage, MovingWindowSupport):
    """Fixed-window counters and moving-window entries in one SQLite file shared by every process."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (limits declares it so; its registry reads it off the class)

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, busy_timeout: float = 10.0, **options: Any
    ) -> None:
        path = (uri or "").partition("://")[2]
        if not os.path.isabs(path):
            raise ValueError(f"{SCHEME}:// needs an absolute path, e.g. {SCHEME}:///srv/ishenim/ratelimit.sqlite3")
        self.path = path
        self.busy_timeout = float(busy_timeout)
        #: Seconds since the epoch; tests move it instead of sleeping through a window.
        self.clock: Callable[[], float] = time.time
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        # Owner-only, like the instance folder: the keys are hashed, but the file is nobody else's business.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        self._prepare()

    def _prepare(self) -> None:
        """Make the file WAL and create its tables, tried again while another process does the same.

        Workers booting together on a new instance race here. Switching a new file to WAL needs it alone,
        and SQLite answers "database is locked" at once rather than through the busy timeout; a worker that
        gave up failed to boot, and gunicorn then stops the whole server. Both steps are idempotent.
        """
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            try:
                with closing(self._connect()) as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
                    for statement in SCHEMA:
                        conn.execute(statement)
                return
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        # Counters are worth less than a letter: after a power cut, forgetting the last second of them is fine.
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection in this process."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            if getattr(local, "conn", None) is not None:
                _INHERITED.append(local.conn)
            local.conn, local.pid = self._connect(), os.getpid()
        conn: sqlite3.Connection = local.conn
        return conn

    def _drop(self) -> None:
        """Forget a connection an error may have left in a transaction; the next call opens a new one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = self._local.pid = None
        if conn is not None:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A transaction that holds the write lock from its start, so that read-then-write is atomic."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            self._drop()
            raise
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._drop()
            raise

    def _read(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._connection().execute(sql, params).fetchone()
        except sqlite3.Error:
            self._drop()
            raise
        return row

    @staticmethod
    def _forget_expired(conn: sqlite3.Connection, now: float) -> None:
        conn.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        conn.execute("DELETE FROM entries WHERE expires_at <= ?", (now,))

    # -- fixed window ------------------------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        with self._write() as conn:
            self._forget_expired(conn, now)
            row = conn.execute(
                "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value RETURNING value",
                (_digest(key), amount, now + expiry),
            ).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._read("SELECT value FROM counters WHERE key = ? AND expires_at > ?", _digest(key), self.clock())
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = self.clock()
        row = self._read("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", _digest(key), now)
        return float(row[0]) if row else now

    # -- moving window -----------------------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        digest = _digest(key)
        with self._write() as conn:
            self._forget_expired(conn, now)
            (count,) = conn.execute(
                "SELECT count(*) FROM entries WHERE key = ? AND at >= ?", (digest, now - expiry)
            ).fetchone()
            if count + amount > limit:
                return False
            conn.executemany(
                "INSERT INTO entries (key, at, expires_at) VALUES (?, ?, ?)", [(digest, now, now + expiry)] * amount
            )
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The oldest hit still in the window and the number of hits in it (the window is over when the
        oldest leaves it)."""
        now = self.clock()
        row = self._read("SELECT min(at), count(*) FROM entries WHERE key = ? AND at >= ?", _digest(key), now - expiry)
        if not row or not row[1]:
            return now, 0
        return float(row[0]), int(row[1])

    # -- housekeeping ------------------------------------------------------------------------------

    def check(self) -> bool:
        try:
            self._read("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._write() as conn:
            removed = conn.execute("DELETE FROM counters").rowcount + conn.execute("DELETE FROM entries").rowcount
        return removed

    def clear(self, key: str) -> None:
        digest = _digest(key)
        with self._write() as conn:
            conn.execute("DELETE FROM counters WHERE key = ?", (digest,))
            conn.execute("DELETE FROM entries WHERE key = ?", (digest,))
