"""``check-deploy``: what a configuration gets wrong, one finding per line with its fix.

The checks are plain functions over a ``Snapshot``: the settings as the server would run with them, the
paths it uses, the text of ``/proc/mounts`` and the clock. Only the files named in the snapshot are looked
at (their modes, owners and ages), so the tests drive every check with real files, modes and a fake mounts
table. Nothing here connects anywhere or reads a key's contents: it only looks at where things are.

Severity: an ``error`` is something that loses letters, leaks them or breaks the app for its users (the
command then exits 1); a ``warning`` is something to look at that may be right on this machine.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

# File systems over a network: SQLite's locks and fsync are not to be trusted there (the SQLite FAQ), so
# two workers may both write, or a commit may be lost on a crash.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "davfs",
        "sshfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.davfs2",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.cephfs",
    }
)
DEFAULT_BACKUP_MAX_AGE_DAYS = 2  # nightly, and one missed night is noticed the next morning


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str  # stable, for scripts and the docs
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.severity.value.upper():7} {self.code}: {self.message} Fix: {self.fix}"


@dataclass(frozen=True)
class Snapshot:
    """The configuration and the environment the checks look at."""

    debug: bool
    public_url: str | None  # where users open the app (ISHENIM_PUBLIC_URL or --url)
    database_uri: str  # SQLALCHEMY_DATABASE_URI
    instance_path: Path
    key_file: Path | None  # None when the key comes from ISHENIM_MASTER_KEY
    backup_public_key: Path | None  # None when the key's text comes from ISHENIM_BACKUP_PUBLIC_KEY
    backup_public_key_text: bool
    backup_dir: Path | None
    ratelimit_storage_uri: str
    trusted_proxies: int
    workers: int = 1  # gunicorn's --workers (WEB_CONCURRENCY)
    bind: str | None = None  # gunicorn's --bind, when known
    mounts: str = ""  # the text of /proc/mounts
    uid: int = field(default_factory=os.geteuid)
    now: float = field(default_factory=time.time)
    backup_max_age_days: int = DEFAULT_BACKUP_MAX_AGE_DAYS
    redis_installed: bool = True  # the client library redis:// storage needs (not in requirements.txt)


Check = Callable[[Snapshot], Iterator[Finding]]


def _error(code: str, message: str, fix: str) -> Finding:
    return Finding(Severity.ERROR, code, message, fix)


def _warning(code: str, message: str, fix: str) -> Finding:
    return Finding(Severity.WARNING, code, message, fix)


def check_debug(snap: Snapshot) -> Iterator[Finding]:
    if snap.debug:
        yield _error(
            "debug_on",
            "Flask's debug mode is on: a failing request shows code and data, and the debugger runs code.",
            "unset FLASK_DEBUG (and never start the server with --debug).",
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_tls(snap: Snapshot) -> Iterator[Finding]:
    if not snap.public_url:
        yield _warning(
            "public_url_unknown",
            "The address users open is not known, so HTTPS cannot be checked.",
            "set ISHENIM_PUBLIC_URL=https://… (or pass --url).",
        )
        return
    parts = urlsplit(snap.public_url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http":
        yield _error(
            "no_tls",
            "The app is served over plain HTTP: passwords and letters cross the network readable, and a "
            "browser runs no service worker (so nothing works offline) except on localhost.",
            "put Caddy or nginx with a TLS certificate in front (docs/DEPLOY.md) and use an https:// address.",
        )
    else:
        yield _error("bad_public_url", "The public address is not an http(s) URL.", "set ISHENIM_PUBLIC_URL=https://….")


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))[2:].rjust(4, "0")


def _folder_problems(folder: Path, what: str, code: str) -> Iterator[Finding]:
    """A folder holding a secret: others must not replace its files, and should not list or enter it."""
    mode = folder.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and not mode & stat.S_ISVTX:
        yield _error(
            f"{code}_writable",
            f"{folder} (holding {what}) can be written by group or others (mode {_mode(folder)}): "
            "they could replace the file.",
            f"chmod go-w {folder}",
        )
    elif mode & (stat.S_IROTH | stat.S_IXOTH):
        yield _warning(
            f"{code}_open",
            f"{folder} (holding {what}) is open to every user of the machine (mode {_mode(folder)}).",
            f"chmod 700 {folder}",
        )


def check_key_file(snap: Snapshot) -> Iterator[Finding]:
    if snap.key_file is None:
        yield _warning(
            "master_key_in_environment",
            "The master key is given in ISHENIM_MASTER_KEY: every process of the same user can read it "
            "from the environment, and it is not rotated by rotate-key.",
            "prefer the key file (ISHENIM_KEY_FILE, mode 0600); if it stays, keep the unit's "
            "EnvironmentFile mode 0600 and owned by root.",
        )
        return
    key = snap.key_file
    if not key.exists():
        yield _warning(
            "master_key_missing",
            f"There is no master key at {key} yet (the first start of an empty database creates it).",
            "start the server once, then put a copy of the key into custody (docs/SECURITY.md).",
        )
        return
    # During a rotation the new key waits beside the old one (master.key.next): the same rules hold for it.
    upcoming = key.with_name(key.name + ".next")
    for path in (key, *([upcoming] if upcoming.exists() else [])):
        info = path.stat()
        if info.st_uid != snap.uid:
            yield _error(
                "master_key_owner",
                f"{path} is owned by uid {info.st_uid}, not by the user the server runs as (uid {snap.uid}).",
                f"chown SERVICE_USER {path}, and run check-deploy as that user.",
            )
        if stat.S_IMODE(info.st_mode) & 0o077:
            yield _error(
                "master_key_mode",
                f"{path} is open to group or others (mode {_mode(path)}).",
                f"chmod 600 {path}",
            )
    folder = key.resolve().parent
    if folder != snap.instance_path.resolve():  # the instance folder is checked on its own
        yield from _folder_problems(folder, "the master key", "master_key_folder")


def check_key_apart_from_backups(snap: Snapshot) -> Iterator[Finding]:
    if snap.key_file is None or snap.backup_dir is None:
        return
    key, backups = snap.key_file.resolve(), snap.backup_dir.resolve()
    if key.is_relative_to(backups):
        yield _error(
            "master_key_in_backups",
            f"The master key {key} is inside the backup folder {backups}: whoever takes the backups takes "
            "the key that opens them.",
            "keep the key in the instance folder (or another owner-only folder) and the backups elsewhere.",
        )


def check_instance_folder(snap: Snapshot) -> Iterator[Finding]:
    if snap.instance_path.is_dir():
        yield from _folder_problems(snap.instance_path.resolve(), "the database and keys", "instance_folder")


def sqlite_path(database_uri: str) -> Path | None:
    """The database file of an SQLite URI, None for any other database or an in-memory one."""
    if not database_uri.startswith("sqlite:///"):
        return None
    name = database_uri[len("sqlite:///") :].split("?")[0]
    return Path(name) if name and name != ":memory:" else None


def _unescape(field_text: str) -> str:
    # /proc/mounts writes a space as \040, a tab as \011, a newline as \012 and a backslash as \134.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_text)


def filesystem_of(path: Path, mounts: str) -> tuple[str, str] | None:
    """(mount point, type) of the mount holding ``path``: the longest mount point that contains it."""
    best: tuple[str, str] | None = None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point, kind = _unescape(fields[1]), fields[2]
        if path.is_relative_to(point) and (best is None or len(point) >= len(best[0])):
            best = (point, kind)
    return best


def check_sqlite_on_network(snap: Snapshot) -> Iterator[Finding]:
    path = sqlite_path(snap.database_uri)
    if path is None:
        return
    # The folder exists before the file does; resolve it so a symlink to a network share is seen.
    where = path.parent.resolve() / path.name
    found = filesystem_of(where, snap.mounts)
    if found and (found[1] in NETWORK_FILESYSTEMS or found[1].startswith("nfs")):
        yield _error(
            "sqlite_on_network_drive",
            f"The SQLite database {path} is on {found[1]} ({found[0]}), a network file system: its locks "
            "and syncs are not reliable there, so letters can be lost or the database corrupted.",
            "keep the database on a local disk (ISHENIM_INSTANCE), or use PostgreSQL (DATABASE_URL).",
        )


def check_backups(snap: Snapshot) -> Iterator[Finding]:
    if not snap.backup_public_key_text and (snap.backup_public_key is None or not snap.backup_public_key.exists()):
        yield _error(
            "no_backup_key",
            "No backup public key is configured, so `backup` cannot run.",
            "run `flask --app wsgi backup-key --out /media/custody/backup.key` once and give the file to the "
            "custodian.",
        )
    if snap.backup_dir is None:
        yield _warning(
            "backups_unknown",
            "No backup folder is given, so whether backups are taken cannot be checked.",
            "set ISHENIM_BACKUP_DIR (or pass --backup-dir) to the folder the nightly backup writes to.",
        )
        return
    if not snap.backup_dir.is_dir():
        yield _error(
            "no_backup_folder",
            f"The backup folder {snap.backup_dir} does not exist.",
            "create it and schedule the nightly backup (docs/DEPLOY.md).",
        )
        return
    newest = max(
        (
            entry.stat().st_mtime
            for entry in snap.backup_dir.iterdir()
            if entry.is_file() and not entry.name.endswith(".partial")
        ),
        default=None,
    )
    limit = snap.backup_max_age_days
    if newest is None or snap.now - newest > limit * 86400:
        age = "no backup at all" if newest is None else f"the newest is {int((snap.now - newest) // 86400)} days old"
        yield _error(
            "backups_stale",
            f"No backup newer than {limit} days in {snap.backup_dir}: {age}.",
            "check the backup timer or cron job and its log (docs/DEPLOY.md).",
        )


def check_rate_limit_storage(snap: Snapshot) -> Iterator[Finding]:
    uri = snap.ratelimit_storage_uri
    if uri.startswith(("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")) and not snap.redis_installed:
        yield _error(
            "rate_limit_client_missing",
            "Login limits count in Redis but the redis client library is not installed: logins fail.",
            "install it in the app's environment: .venv/bin/pip install redis",
        )
    if uri.startswith("memory://") and snap.workers > 1:
        yield _error(
            "rate_limit_per_process",
            f"Login limits count in memory:// while {snap.workers} workers run: each counts alone, so a "
            "password guesser gets that many times the allowed tries.",
            "leave ISHENIM_RATELIMIT_STORAGE_URI unset (a file every worker shares) or use redis://.",
        )
    elif uri.startswith("ishenim+sqlite://") and sqlite_path(snap.database_uri) is None:
        yield _warning(
            "rate_limit_per_machine",
            "A PostgreSQL deployment counts login limits in a local file: with several machines each counts alone.",
            "with more than one machine, set ISHENIM_RATELIMIT_STORAGE_URI=redis://… shared by all.",
        )


def _bind_is_local(bind: str) -> bool:
    if bind.startswith(("unix:", "fd://")):
        return True
    host = bind.rsplit(":", 1)[0].strip("[]") if ":" in bind else bind
    return _is_loopback(host)


def check_proxies(snap: Snapshot) -> Iterator[Finding]:
    if snap.bind is None:
        return
    local = _bind_is_local(snap.bind)
    if snap.trusted_proxies and not local:
        yield _warning(
            "trusted_proxies_without_proxy",
            f"ISHENIM_TRUSTED_PROXIES={snap.trusted_proxies} while gunicorn listens on {snap.bind}: a client "
            "reaching it directly can forge X-Forwarded-For and escape the login limits.",
            "bind gunicorn to 127.0.0.1 or a unix socket behind the proxy, or set ISHENIM_TRUSTED_PROXIES=0.",
        )
    if not snap.trusted_proxies and local and snap.public_url and snap.public_url.startswith("https://"):
        yield _warning(
            "proxy_not_trusted",
            "gunicorn listens locally behind a proxy but ISHENIM_TRUSTED_PROXIES is 0: every user shares the "
            "proxy's address in the login limit, and the app does not know the request came over HTTPS.",
            "set ISHENIM_TRUSTED_PROXIES=1 (one proxy in front).",
        )


CHECKS: tuple[Check, ...] = (
    check_debug,
    check_tls,
    check_key_file,
    check_key_apart_from_backups,
    check_instance_folder,
    check_sqlite_on_network,
    check_backups,
    check_rate_limit_storage,
    check_proxies,
)


def run(snap: Snapshot) -> list[Finding]:
    """Every finding, errors first."""
    findings = [finding for check in CHECKS for finding in check(snap)]
    return sorted(findings, key=lambda finding: finding.severity != Severity.ERROR)
