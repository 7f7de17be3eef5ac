"""Command-line operations beside the code they drive: ``flask --app wsgi COMMAND``.

The commands that change a school's accounts, devices or settings record it in the school's audit trail
with the operator ("cli:<operating-system user>") in place of a user. The command line may disable a
director or set their password, which the admin's endpoints refuse.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from marshmallow import ValidationError
from sqlalchemy import select

from server import crypto
from server.db import begin_write, db
from server.errors import ApiError
from server.models import Device, District, School, User
from server.services import (
    accounts,
    admin,
    backup,
    demo,
    deploy_check,
    keys,
    retention,
    rotation,
    schools,
    verify,
)
from server.services.audit_log import Who
from sync.events import Role
from sync.schemas import SchoolSettingsSchema

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


@click.command("create-school")
@with_appcontext
@click.option("--name", required=True, help="The school's name as printed on its documents.")
def create_school(name: str) -> None:
    """Create a school; prints its id as the last line."""
    begin_write()
    school = accounts.create_school(name)
    db.session.commit()
    click.echo(f"Created school {name!r}.")
    click.echo(str(school.uuid))


@click.command("create-user")
@with_appcontext
@click.option("--school", "school_id", help="The school's id (printed by create-school).")
@click.option("--district", "district_id", help="For a district's viewer (role district): the district's id.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
def create_user(
    school_id: str | None, district_id: str | None, role: str, username: str, full_name: str, password_stdin: bool
) -> None:
    """Create an account; the password comes from standard input so it stays out of the shell history."""
    if (role == Role.DISTRICT) != (district_id is not None) or (school_id is None) == (district_id is None):
        raise click.UsageError("A district's viewer takes --district; every other role takes --school.")
    owner = _district(district_id) if district_id else _school(school_id or "")
    password = sys.stdin.readline().rstrip("\r\n")
    begin_write()
    try:
        if isinstance(owner, District):
            user = accounts.create_district_user(owner, username, full_name, password)
        else:
            user = admin.create_user(owner, _operator(), Role(role), username, full_name, password)
    except ApiError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Created {role} {username!r}.")
    click.echo(str(user.uuid))


@click.command("revoke-device")
@with_appcontext
@click.argument("device_id", type=click.UUID)
def revoke_device(device_id: uuid.UUID) -> None:
    """Revoke a device (a lost or stolen tablet): its token stops working at once."""
    begin_write()
    device = db.session.scalar(select(Device).where(Device.uuid == device_id))
    if device is None:
        raise click.ClickException("No such device.")
    if device.revoked_at is None:
        admin.record_revocation(_operator(), accounts.revoke_device(device_id) or device)
    db.session.commit()
    click.echo(f"Revoked device {device.uuid} ({device.name}).")


def _operator() -> Who:
    return Who.cli(retention.cli_operator())


def _account(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter("no such user", param_hint="USERNAME")
    return user


@click.command("reset-password")
@with_appcontext
@click.argument("username")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the new password from standard input.")
def reset_password(username: str, password_stdin: bool) -> None:
    """Set an account's password (a director's too): every device of theirs must log in again, with it."""
    password = sys.stdin.readline().rstrip("\r\n")
    begin_write()
    user = _account(username)
    try:
        if user.school is not None:
            admin.set_password(user.school, _operator(), user, password)
        else:
            accounts.reset_password(user, password)
    except ApiError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Set a new password for {username!r}; each of their devices logs in again with it.")


def _set_disabled(username: str, disabled: bool) -> None:
    begin_write()
    user = _account(username)
    if user.school is not None:
        admin.change_disabled(user.school, _operator(), user, disabled)
    else:
        accounts.set_disabled(user, disabled)
    db.session.commit()


@click.command("disable-user")
@with_appcontext
@click.argument("username")
def disable_user(username: str) -> None:
    """Disable an account (a director's too): its tokens stop working at once."""
    _set_disabled(username, True)
    click.echo(f"Disabled {username!r}.")


@click.command("enable-user")
@with_appcontext
@click.argument("username")
def enable_user(username: str) -> None:
    """Enable an account again; its devices log in again with the password (their old tokens stay dead)."""
    _set_disabled(username, False)
    click.echo(f"Enabled {username!r}.")


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Check every school's hash chain, ciphertexts and journal rows; exit 1 naming the first break."""
    found = verify.first_break()
    if found is not None:
        click.echo(f"BROKEN {found}", err=True)
        sys.exit(1)
    click.echo("OK: every journal is intact.")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """On an empty database only: a fictional demo school with one account per role (for `make run`)."""
    begin_write()
    credentials = demo.seed_if_empty()
    db.session.commit()
    if credentials is None:
        click.echo("The database holds a school already; no demo data was added.")
        return
    click.echo(f"Demo school created: {demo.DEMO_SCHOOL}. Accounts (shown once):")
    for role, username, password in credentials:
        click.echo(f"  {role:<11} username: {username:<11} password: {password}")


@click.command("create-district")
@with_appcontext
@click.option("--name", required=True, help="The district's name.")
def create_district(name: str) -> None:
    """Create a district; prints its id as the last line."""
    begin_write()
    district = accounts.create_district(name)
    db.session.commit()
    click.echo(f"Created district {name!r}.")
    click.echo(str(district.uuid))


@click.command("link-school")
@with_appcontext
@click.option("--district", "district_id", required=True, help="The district's id (printed by create-district).")
@click.option("--school", "school_id", required=True, help="The school's id.")
def link_school(district_id: str, school_id: str) -> None:
    """Put a school in a district: the district's viewers then see its aggregate figures."""
    begin_write()
    district, school = _district(district_id), _school(school_id)
    school.district_id = district.id
    db.session.commit()
    click.echo(f"School {school.name!r} is in district {district.name!r}.")


def _district(district_id: str) -> District:
    try:
        district_uuid = uuid.UUID(district_id)
    except ValueError:
        raise click.BadParameter("not a district id", param_hint="--district") from None
    district = db.session.scalar(select(District).where(District.uuid == district_uuid))
    if district is None:
        raise click.BadParameter("no such district", param_hint="--district")
    return district


def _school(school_id: str) -> School:
    try:
        school_uuid = uuid.UUID(school_id)
    except ValueError:
        raise click.BadParameter("not a school id", param_hint="--school") from None
    school = db.session.scalar(select(School).where(School.uuid == school_uuid))
    if school is None:
        raise click.BadParameter("no such school", param_hint="--school")
    return school


@click.command("school-settings")
@with_appcontext
@click.option("--school", "school_id", required=True, help="The school's id (printed by create-school).")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=JSON",
    help="A setting and its JSON value, e.g. --set quorum=2 --set 'days_off=[\"2026-03-23\"]'.",
)
def school_settings(school_id: str, assignments: tuple[str, ...]) -> None:
    """Show a school's settings, or change some: all are checked together and nothing is saved if one is wrong."""
    changes = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep:
            raise click.BadParameter(f"{assignment!r} is not KEY=JSON", param_hint="--set")
        try:
            changes[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            raise click.BadParameter(f"the value of {key!r} is not JSON", param_hint="--set") from None
    if changes:
        begin_write()
    school = _school(school_id)
    before = admin.snapshot(school)
    try:
        settings = schools.update_settings(school, changes) if changes else schools.settings_of(school)
    except ValidationError as error:
        raise click.ClickException(f"Not saved; invalid: {', '.join(sorted(error.messages))}.") from None
    if changes:
        admin.record_settings(school, _operator(), before)
    db.session.commit()
    click.echo(json.dumps(SchoolSettingsSchema().dump(settings), ensure_ascii=False, indent=2, sort_keys=True))


@click.command("purge-expired")
@with_appcontext
@click.option("--school", "school_id", help="Only this school (its id); every school by default.")
@click.option("--dry-run", is_flag=True, help="Only list the cases that would be erased; change nothing.")
def purge_expired(school_id: str | None, dry_run: bool) -> None:
    """Erase the contents of cases closed (or not accepted) longer ago than the school's retention_years.

    Each case's data key is destroyed, so its contents can never be opened again; its numbered row, dates
    and figures stay, and an audit entry records the erasure. Cases are named by number, never content.
    """
    operator, run = retention.cli_operator(), uuid.uuid4()
    targets = [_school(school_id)] if school_id else list(db.session.scalars(select(School).order_by(School.id)))
    total = 0
    for school_pk, name, school_uuid in [(school.id, school.name, school.uuid) for school in targets]:
        if not dry_run:
            begin_write()  # a transaction per school: a failure keeps what the schools before it erased
        school = db.session.get(School, school_pk)
        assert school is not None
        found = retention.expired(school) if dry_run else retention.purge(school, operator, run)
        numbers = [item.number for item in found]
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        total += len(numbers)
        listed = f": {', '.join(numbers)}" if numbers else ""
        click.echo(f"School {name!r} ({school_uuid}): {len(numbers)} {'would be ' if dry_run else ''}erased{listed}.")
    if dry_run:
        click.echo(f"Dry run: {total} case(s) would be erased; nothing was changed.")
        return
    click.echo(f"Erased the contents of {total} case(s); run {run}.")
    if total and (result := retention.checkpoint()) is not None and result[0]:
        click.echo("The SQLite WAL is still in use; the next checkpoint empties it of the erased pages.", err=True)


class Progress:
    """How far a long operation is: a progress bar on a terminal, otherwise a plain line at every tenth of the
    way (or every 64 MiB when the end is not known), which reads well in a log or a cron mail."""

    def __init__(self, units: dict[str, str] | None = None, file: TextIO | None = None) -> None:
        self.units = units or {}
        self.file = file or sys.stdout
        self.tty = self.file.isatty()
        self.phase: str | None = None
        self.bar: ProgressBar[int] | None = None
        self.done = self.shown = 0

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.done, self.shown = phase, 0, -1
            if self.tty and total:
                self.bar = click.progressbar(length=total, label=phase, file=self.file, show_pos=True)
        if self.bar is not None:
            self.bar.update(done - self.done)
        else:
            step = done * 10 // total if total else done // (64 << 20)
            if step > self.shown or done == total:
                self.shown = step
                shown = f"{phase}: {self._amount(done)}" + (f" of {self._amount(total)}" if total else "")
                click.echo(shown, file=self.file)
        self.done = done

    def _amount(self, value: int) -> str:
        unit = self.units.get(self.phase or "")
        return f"{value} {unit}" if unit else f"{value / (1 << 20):.1f} MiB"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


@click.command("backup-key")
@with_appcontext
@click.option(
    "--out",
    "private_out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the private key, for the key custodian (not on this server for long).",
)
@click.option("--replace", is_flag=True, help="Replace the backup public key the instance has.")
def backup_key(private_out: Path, replace: bool) -> None:
    """Make the backup key pair: the private half to --out (0600) for the custodian, the public half here."""
    try:
        public = backup.make_key_pair(private_out, replace)
    except (backup.BackupError, crypto.CryptoError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup key {public.key_id}: the public half is in the instance; backups are sealed for it.")
    click.echo(f"The private half is in {private_out}. Give it to the key custodian and delete it here: it is")
    click.echo("needed to restore, and on this server it would open every backup to whoever takes the server.")


@click.command("backup")
@with_appcontext
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The backup file.")
def backup_command(out: Path) -> None:
    """Snapshot the database while the app runs, sealed for the backup key (not the master key)."""
    progress = Progress({"snapshot": "pages"})
    try:
        manifest, public = backup.take(out, progress)
    except (backup.BackupError, crypto.CryptoError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        progress.close()
    click.echo(
        f"Backed up {manifest.rows} rows of {len(manifest.tables)} tables ({manifest.kind}) to {out}, "
        f"sealed for backup key {public.key_id}. The master key is not in it: keep its own backup."
    )


@click.command("restore")
@with_appcontext
@click.option(
    "--in",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The backup file.",
)
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The backup key's private half, from the key custodian.",
)
def restore_command(source: Path, key_file: Path) -> None:
    """Restore a backup into this instance, which must be empty and hold the backup's master key."""
    progress = Progress()
    try:
        manifest = backup.restore(source, crypto.load_backup_private_key(key_file), progress)
    except (backup.BackupError, crypto.CryptoError) as error:
        raise click.ClickException(f"Not restored: {error}") from None
    finally:
        progress.close()
    click.echo(
        f"Restored {manifest.rows} rows of {len(manifest.tables)} tables, taken {manifest.taken_at}; the master "
        "key opens every data key. Run `flask --app wsgi db upgrade` and `flask --app wsgi verify` next."
    )


@click.command("rotate-key")
@with_appcontext
@click.option(
    "--batch-size",
    default=rotation.BATCH_ROWS,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Data keys re-wrapped per transaction.",
)
@click.option("--finish", is_flag=True, help="Once every data key is re-wrapped: retire the old master key.")
def rotate_key(batch_size: int, finish: bool) -> None:
    """Make a new master key and re-wrap every data key under it, in batches; run again to resume."""
    try:
        if finish:
            _finish_rotation()
            return
        new = rotation.start()
        total = rotation.state(new).remaining
        click.echo(f"Rotating to master key {new.key_id}: {total} data key(s) to re-wrap.")
        progress, done = Progress({"re-wrapping": "data keys"}), 0
        try:
            while True:
                begin_write()
                count = rotation.rewrap_batch(new, batch_size)
                db.session.commit()  # each batch its own transaction: an interruption keeps it
                if not count:
                    break
                done += count
                progress("re-wrapping", done, max(total, done))
        finally:
            progress.close()
    except (rotation.RotationError, crypto.CryptoError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Every data key is under master key {new.key_id} ({done} re-wrapped now).")
    click.echo(f"Put {keys.next_key_file(current_app)} into key custody, then run `rotate-key --finish`.")


def _finish_rotation() -> None:
    if not keys.next_key_file(current_app).exists():
        raise rotation.RotationError("No rotation is in progress: there is no new key to finish with.")
    new = rotation.start()
    old = crypto.load_master_key(keys.key_file(current_app)).key_id
    rotation.settle(new)
    begin_write()
    rotation.lock_data_keys()
    rotation.finish(new)
    db.session.commit()
    click.echo(f"Master key {new.key_id} is now the only one, at {keys.key_file(current_app)}.")
    click.echo(f"The old key {old} is no longer on this server. The custodian keeps it offline for as long")
    click.echo("as backups taken before this rotation are kept: restoring one of those needs it.")


@click.command("check-deploy")
@with_appcontext
@click.option("--url", help="The https:// address users open (default: ISHENIM_PUBLIC_URL).")
@click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder the nightly backup writes to (default: ISHENIM_BACKUP_DIR).",
)
@click.option(
    "--backup-max-age-days",
    default=deploy_check.DEFAULT_BACKUP_MAX_AGE_DAYS,
    show_default=True,
    type=click.IntRange(1, 365),
    help="A backup older than this is missing.",
)
@click.option(
    "--workers",
    default=lambda: int(os.environ.get("WEB_CONCURRENCY", "1")),
    type=click.IntRange(1, 1024),
    help="gunicorn's worker processes  [default: WEB_CONCURRENCY or 1]",
)
@click.option("--bind", help="gunicorn's --bind (e.g. 127.0.0.1:8000 or unix:/run/ishenim.sock).")
@click.option(
    "--mounts",
    "mounts_file",
    default="/proc/mounts",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The mount table to read.",
)
def check_deploy(
    url: str | None,
    backup_dir: Path | None,
    backup_max_age_days: int,
    workers: int,
    bind: str | None,
    mounts_file: Path,
) -> None:
    """Report what this configuration gets wrong, one line each; exit 1 on any error.

    Run it as the service's user with the service's environment (docs/DEPLOY.md).
    """
    config = current_app.config
    backup_text = bool(config.get("ISHENIM_BACKUP_PUBLIC_KEY"))
    chosen_backups = backup_dir or config.get("BACKUP_DIR")
    snap = deploy_check.Snapshot(
        debug=current_app.debug or os.environ.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes"),
        public_url=url or config.get("PUBLIC_URL"),
        database_uri=config["SQLALCHEMY_DATABASE_URI"],
        instance_path=Path(current_app.instance_path),
        key_file=None if config.get("ISHENIM_MASTER_KEY") else keys.key_file(current_app),
        backup_public_key=None if backup_text else Path(config["ISHENIM_BACKUP_PUBLIC_KEY_FILE"]),
        backup_public_key_text=backup_text,
        backup_dir=Path(chosen_backups) if chosen_backups else None,
        backup_max_age_days=backup_max_age_days,
        ratelimit_storage_uri=config["RATELIMIT_STORAGE_URI"],
        trusted_proxies=config["TRUSTED_PROXIES"],
        workers=workers,
        bind=bind,
        mounts=mounts_file.read_text() if mounts_file.exists() else "",
        redis_installed=importlib.util.find_spec("redis") is not None,
    )
    findings = deploy_check.run(snap)
    for finding in findings:
        click.echo(finding.line())
    errors = sum(finding.severity == deploy_check.Severity.ERROR for finding in findings)
    click.echo(f"{errors} error(s), {len(findings) - errors} warning(s).")
    if errors:
        sys.exit(1)


def init_app(app: Flask) -> None:
    commands = (create_school, create_user, create_district, link_school, revoke_device, verify_command, seed_demo)
    for command in (*commands, reset_password, disable_user, enable_user, school_settings):
        app.cli.add_command(command)
    app.cli.add_command(purge_expired)
    for command in (backup_key, backup_command, restore_command, rotate_key):
        app.cli.add_command(command)
    app.cli.add_command(check_deploy)
