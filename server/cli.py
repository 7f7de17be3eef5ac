"""Command-line operations beside the code they drive: ``flask --app wsgi COMMAND``."""

from __future__ import annotations

import json
import sys
import uuid

import click
from flask import Flask
from flask.cli import with_appcontext
from marshmallow import ValidationError
from sqlalchemy import select

from server.db import begin_write, db
from server.errors import ApiError
from server.models import District, School
from server.services import accounts, demo, schools, verify
from sync.events import Role
from sync.schemas import SchoolSettingsSchema


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
            user = accounts.create_user(owner, Role(role), username, full_name, password)
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
    device = accounts.revoke_device(device_id)
    if device is None:
        raise click.ClickException("No such device.")
    db.session.commit()
    click.echo(f"Revoked device {device.uuid} ({device.name}).")


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
    try:
        settings = schools.update_settings(school, changes) if changes else schools.settings_of(school)
    except ValidationError as error:
        raise click.ClickException(f"Not saved; invalid: {', '.join(sorted(error.messages))}.") from None
    db.session.commit()
    click.echo(json.dumps(SchoolSettingsSchema().dump(settings), ensure_ascii=False, indent=2, sort_keys=True))


def init_app(app: Flask) -> None:
    commands = (create_school, create_user, create_district, link_school, revoke_device, verify_command, seed_demo)
    for command in (*commands, school_settings):
        app.cli.add_command(command)
