"""``check-deploy``: each check both ways, on real files and modes and a fake /proc/mounts."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner

from server.services.deploy_check import Severity, Snapshot, filesystem_of, run

LOCAL_MOUNTS = "sysfs /sys sysfs rw 0 0\n/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs /run tmpfs rw 0 0\n"


@pytest.fixture
def good(tmp_path: Path) -> Snapshot:
    """A school as docs/DEPLOY.md sets it up: nothing to report."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    key = instance / "master.key"
    key.write_text("not a real key\n")
    key.chmod(0o600)
    (instance / "backup.pub").write_text("public\n")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "2026-11-21.backup").write_bytes(b"sealed")
    return Snapshot(
        debug=False,
        public_url="https://school.example",
        database_uri=f"sqlite:///{instance / 'ishenim.sqlite3'}",
        instance_path=instance,
        key_file=key,
        backup_public_key=instance / "backup.pub",
        backup_public_key_text=False,
        backup_dir=backups,
        ratelimit_storage_uri=f"ishenim+sqlite://{instance / 'ratelimit.sqlite3'}",
        trusted_proxies=1,
        workers=2,
        bind="127.0.0.1:8000",
        mounts=LOCAL_MOUNTS,
    )


def codes(snap: Snapshot, **changes: Any) -> dict[str, Severity]:
    return {finding.code: finding.severity for finding in run(dataclasses.replace(snap, **changes))}


def test_a_good_deployment_has_nothing_to_report(good: Snapshot) -> None:
    assert run(good) == []


def test_debug_mode_is_an_error(good: Snapshot) -> None:
    assert codes(good, debug=True) == {"debug_on": Severity.ERROR}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://school.example/", {}),
        ("http://school.example", {"no_tls": Severity.ERROR}),
        ("http://127.0.0.1:8000", {"no_tls": Severity.ERROR}),
        ("ftp://school.example", {"bad_public_url": Severity.ERROR}),
        (None, {"public_url_unknown": Severity.WARNING}),
    ],
)
def test_tls(good: Snapshot, url: str | None, expected: dict[str, Severity]) -> None:
    assert codes(good, public_url=url, bind=None) == expected


def test_a_key_file_readable_by_others_is_an_error(good: Snapshot) -> None:
    assert good.key_file is not None
    good.key_file.chmod(0o640)
    assert codes(good) == {"master_key_mode": Severity.ERROR}
    good.key_file.chmod(0o604)
    assert codes(good) == {"master_key_mode": Severity.ERROR}
    good.key_file.chmod(0o400)
    assert codes(good) == {}


def test_the_rotations_next_key_is_held_to_the_same_rules(good: Snapshot) -> None:
    assert good.key_file is not None
    upcoming = good.key_file.with_name("master.key.next")
    upcoming.write_text("the next key\n")
    upcoming.chmod(0o644)
    assert codes(good) == {"master_key_mode": Severity.ERROR}
    upcoming.chmod(0o600)
    assert codes(good) == {}


def test_a_key_file_of_another_user_is_an_error(good: Snapshot) -> None:
    assert codes(good, uid=os.geteuid() + 1) == {"master_key_owner": Severity.ERROR}


def test_a_missing_key_file_or_a_key_in_the_environment_is_a_warning(good: Snapshot, tmp_path: Path) -> None:
    assert codes(good, key_file=tmp_path / "instance" / "none.key") == {"master_key_missing": Severity.WARNING}
    assert codes(good, key_file=None) == {"master_key_in_environment": Severity.WARNING}


def test_the_folder_of_the_key(good: Snapshot, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    key = keys / "master.key"
    key.write_text("key\n")
    key.chmod(0o600)
    assert codes(good, key_file=key) == {}
    keys.chmod(0o755)
    assert codes(good, key_file=key) == {"master_key_folder_open": Severity.WARNING}
    keys.chmod(0o777)
    assert codes(good, key_file=key) == {"master_key_folder_writable": Severity.ERROR}
    keys.chmod(0o770)
    assert codes(good, key_file=key) == {"master_key_folder_writable": Severity.ERROR}
    keys.chmod(0o1777)  # like /tmp: others cannot replace the file, but they can see it
    assert codes(good, key_file=key) == {"master_key_folder_open": Severity.WARNING}
    keys.chmod(0o700)


def test_the_instance_folder_open_to_everyone_is_a_warning(good: Snapshot) -> None:
    good.instance_path.chmod(0o755)
    assert codes(good) == {"instance_folder_open": Severity.WARNING}
    good.instance_path.chmod(0o700)


def test_the_master_key_inside_the_backup_folder_is_an_error(good: Snapshot, tmp_path: Path) -> None:
    assert codes(good, backup_dir=good.instance_path) == {"master_key_in_backups": Severity.ERROR}
    assert codes(good, backup_dir=tmp_path)["master_key_in_backups"] == Severity.ERROR  # a parent folder
    # Through a symbolic link too.
    (tmp_path / "backups-link").symlink_to(good.instance_path)
    assert codes(good, backup_dir=tmp_path / "backups-link") == {"master_key_in_backups": Severity.ERROR}


@pytest.mark.parametrize("kind", ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "9p"])
def test_sqlite_on_a_network_drive_is_an_error(good: Snapshot, kind: str) -> None:
    mounts = LOCAL_MOUNTS + f"fileserver:/export {good.instance_path.parent} {kind} rw 0 0\n"
    assert codes(good, mounts=mounts) == {"sqlite_on_network_drive": Severity.ERROR}


def test_sqlite_on_a_local_disk_is_fine(good: Snapshot, tmp_path: Path) -> None:
    # The longest mount point wins: a local disk mounted inside a network share holds the database.
    mounts = LOCAL_MOUNTS + f"fs:/export {tmp_path.parent} nfs4 rw 0 0\n/dev/sdb1 {tmp_path} ext4 rw 0 0\n"
    assert codes(good, mounts=mounts) == {}
    # A database not under the share, and a PostgreSQL database, are not on it.
    assert codes(good, mounts=LOCAL_MOUNTS + "fs:/export /srv/share nfs4 rw 0 0\n") == {}
    network = LOCAL_MOUNTS + f"fs:/export {tmp_path} nfs4 rw 0 0\n"
    assert "sqlite_on_network_drive" not in codes(
        good, mounts=network, database_uri="postgresql+psycopg://u@db/ishenim", ratelimit_storage_uri="redis://r"
    )


def test_a_mount_point_with_a_space_and_a_symbolic_link_to_a_share(good: Snapshot, tmp_path: Path) -> None:
    share = tmp_path / "school share"
    share.mkdir()
    (tmp_path / "data").symlink_to(share)
    escaped = str(share).replace(" ", "\\040")
    mounts = LOCAL_MOUNTS + f"//nas/school {escaped} cifs rw 0 0\n"
    assert filesystem_of(share / "db.sqlite3", mounts) == (str(share), "cifs")
    uri = f"sqlite:///{tmp_path / 'data' / 'ishenim.sqlite3'}"
    assert codes(good, mounts=mounts, database_uri=uri) == {"sqlite_on_network_drive": Severity.ERROR}


def test_no_backup_key_is_an_error(good: Snapshot, tmp_path: Path) -> None:
    assert codes(good, backup_public_key=tmp_path / "absent.pub") == {"no_backup_key": Severity.ERROR}
    assert codes(good, backup_public_key=None, backup_public_key_text=True) == {}


def test_backups_must_be_recent(good: Snapshot) -> None:
    assert good.backup_dir is not None
    newest = good.backup_dir / "2026-11-21.backup"
    three_days_ago = time.time() - 3 * 86400
    os.utime(newest, (three_days_ago, three_days_ago))
    assert codes(good) == {"backups_stale": Severity.ERROR}
    assert codes(good, backup_max_age_days=4) == {}
    (good.backup_dir / "2026-11-24.backup.partial").write_bytes(b"half")  # an unfinished one does not count
    assert codes(good) == {"backups_stale": Severity.ERROR}
    (good.backup_dir / "2026-11-24.backup").write_bytes(b"sealed")
    assert codes(good) == {}


def test_no_backup_folder(good: Snapshot, tmp_path: Path) -> None:
    assert codes(good, backup_dir=None) == {"backups_unknown": Severity.WARNING}
    assert codes(good, backup_dir=tmp_path / "absent") == {"no_backup_folder": Severity.ERROR}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert codes(good, backup_dir=empty) == {"backups_stale": Severity.ERROR}


def test_rate_limits_counted_per_process_with_several_workers(good: Snapshot) -> None:
    assert codes(good, ratelimit_storage_uri="memory://", workers=2) == {"rate_limit_per_process": Severity.ERROR}
    assert codes(good, ratelimit_storage_uri="memory://", workers=1) == {}
    postgres = "postgresql+psycopg://u@db/ishenim"
    assert codes(good, database_uri=postgres) == {"rate_limit_per_machine": Severity.WARNING}
    assert codes(good, database_uri=postgres, ratelimit_storage_uri="redis://cache:6379/0") == {}
    redis = {"database_uri": postgres, "ratelimit_storage_uri": "redis://cache:6379/0"}
    assert codes(good, **redis, redis_installed=False) == {"rate_limit_client_missing": Severity.ERROR}


@pytest.mark.parametrize(
    ("trusted", "bind", "expected"),
    [
        (1, "127.0.0.1:8000", {}),
        (1, "[::1]:8000", {}),
        (1, "unix:/run/ishenim/gunicorn.sock", {}),
        (1, "0.0.0.0:8000", {"trusted_proxies_without_proxy": Severity.WARNING}),
        (1, "192.0.2.10:8000", {"trusted_proxies_without_proxy": Severity.WARNING}),
        (0, "127.0.0.1:8000", {"proxy_not_trusted": Severity.WARNING}),
        (0, "0.0.0.0:8000", {}),
        (1, None, {}),
    ],
)
def test_trusted_proxies(good: Snapshot, trusted: int, bind: str | None, expected: dict[str, Severity]) -> None:
    assert codes(good, trusted_proxies=trusted, bind=bind) == expected


def test_errors_come_first(good: Snapshot) -> None:
    findings = run(dataclasses.replace(good, public_url=None, debug=True, backup_dir=None))
    assert [f.severity for f in findings] == [Severity.ERROR, Severity.WARNING, Severity.WARNING]
    assert findings[0].line().startswith("ERROR   debug_on: ") and " Fix: " in findings[0].line()


def test_the_command(runner: FlaskCliRunner, instance: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """As an operator runs it: one line per finding, exit 1 on an error, 0 when only warnings remain."""
    instance.chmod(0o700)
    tmp_path = tmp_path_factory.mktemp("operator")  # the instance is the test's tmp_path
    mounts = tmp_path / "mounts"
    mounts.write_text(LOCAL_MOUNTS)
    backups = tmp_path / "backups"
    backups.mkdir()
    args = ["check-deploy", "--backup-dir", str(backups), "--mounts", str(mounts), "--bind", "127.0.0.1:8000"]

    result = runner.invoke(args=[*args, "--url", "http://school.example", "--workers", "2"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("ERROR   no_tls: ") for line in lines)
    assert any(line.startswith("ERROR   no_backup_key: ") for line in lines)
    assert any(line.startswith("ERROR   backups_stale: ") for line in lines)
    assert lines[-1].endswith("warning(s).")

    assert runner.invoke(args=["backup-key", "--out", str(tmp_path / "custody.key")]).exit_code == 0
    assert (instance / "master.key").exists()
    assert runner.invoke(args=["backup", "--out", str(backups / "today.backup")]).exit_code == 0
    result = runner.invoke(args=[*args, "--url", "https://school.example"])
    assert result.exit_code == 0, result.output
    assert "ERROR" not in result.output
