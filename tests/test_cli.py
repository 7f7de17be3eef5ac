"""The command line: ``create-school``, ``create-user --password-stdin`` and ``seed-demo``.

Each command runs through Flask's CLI runner on the test database; what it prints is then used the way an
operator would use it: the printed id to create a user, the printed credentials to log in over the API.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from server.db import db
from server.models import School, User
from sync.events import SCHOOL_ROLES
from tests.operator import run_flask

PASSWORD = "trust-box-2024"


def invoke(runner: FlaskCliRunner, *args: str, input: str | None = None) -> Any:
    # No app context pushed here: each command must set up its own (``with_appcontext``), as under the shell.
    return runner.invoke(args=list(args), input=input)


def _create_school(runner: FlaskCliRunner, name: str = "School No. 7") -> str:
    result = invoke(runner, "create-school", "--name", name)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _create_user(
    runner: FlaskCliRunner,
    school_id: str,
    username: str = "aigul",
    role: str = "pedagogue",
    password: str = PASSWORD,
    full_name: str = "Айгүл Тестова",
) -> Any:
    return invoke(
        runner,
        "create-user",
        "--school",
        school_id,
        "--role",
        role,
        "--username",
        username,
        "--full-name",
        full_name,
        "--password-stdin",
        input=password + "\n",
    )


def _login(client: FlaskClient, username: str, password: str) -> Any:
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, "device_name": "cli test"}
    )


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        schools = db.session.scalar(select(func.count()).select_from(School))
        users = db.session.scalar(select(func.count()).select_from(User))
        db.session.remove()
    return schools or 0, users or 0


def test_create_school_prints_its_id_last(app: Flask, runner: FlaskCliRunner) -> None:
    """The last line is the new school's UUID, and that school exists under the given name."""
    school_id = _create_school(runner, "Школа-гимназия № 5")
    parsed = uuid.UUID(school_id)
    assert str(parsed) == school_id
    with app.app_context():
        school = db.session.scalar(select(School).where(School.uuid == parsed))
        assert school is not None
        assert school.name == "Школа-гимназия № 5"


@pytest.mark.parametrize("role", [r.value for r in SCHOOL_ROLES])
def test_create_user_can_log_in(app: Flask, runner: FlaskCliRunner, client: FlaskClient, role: str) -> None:
    """A user made with --password-stdin logs in over the API with that password, in that school and role."""
    school_id = _create_school(runner)
    result = _create_user(runner, school_id, username=f"user-{role}", role=role)
    assert result.exit_code == 0, result.output
    response = _login(client, f"user-{role}", PASSWORD)
    assert response.status_code == 201, response.get_json()
    user = response.get_json()["user"]
    assert user == {"id": user["id"], "role": role, "school_id": school_id, "full_name": "Айгүл Тестова"}
    assert result.output.strip().splitlines()[-1] == user["id"]
    assert _login(client, f"user-{role}", PASSWORD + "x").status_code == 401


def test_password_is_not_echoed(runner: FlaskCliRunner) -> None:
    result = _create_user(runner, _create_school(runner))
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


@pytest.mark.parametrize("password", ["", "short", "1234567"])
def test_too_short_password_is_refused(app: Flask, runner: FlaskCliRunner, password: str) -> None:
    school_id = _create_school(runner)
    before = _counts(app)
    result = _create_user(runner, school_id, password=password)
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output
    assert "Traceback" not in result.output
    assert _counts(app) == before


@pytest.mark.parametrize("school_id", [str(uuid.uuid4()), "not-a-uuid", ""])
def test_unknown_school_is_refused(app: Flask, runner: FlaskCliRunner, school_id: str) -> None:
    _create_school(runner)
    before = _counts(app)
    result = _create_user(runner, school_id)
    assert result.exit_code != 0
    assert "school" in result.output.lower()
    assert _counts(app) == before


def test_duplicate_username_is_refused(app: Flask, runner: FlaskCliRunner, client: FlaskClient) -> None:
    """A taken username is refused, even in another school, and the first account keeps its password."""
    first, second = _create_school(runner, "First"), _create_school(runner, "Second")
    assert _create_user(runner, first, username="samat").exit_code == 0
    before = _counts(app)
    result = _create_user(runner, second, username="samat", password="another-password")
    assert result.exit_code != 0
    assert "taken" in result.output
    assert _counts(app) == before
    assert _login(client, "samat", PASSWORD).status_code == 201
    assert _login(client, "samat", "another-password").status_code == 401


def test_unknown_role_is_refused(app: Flask, runner: FlaskCliRunner) -> None:
    school_id = _create_school(runner)
    before = _counts(app)
    assert _create_user(runner, school_id, role="district").exit_code != 0
    assert _counts(app) == before


CREDENTIALS = re.compile(r"^\s*(\w+)\s+username:\s*(\S+)\s+password:\s*(\S+)\s*$", re.MULTILINE)


def test_seed_demo_on_empty_database(app: Flask, runner: FlaskCliRunner, client: FlaskClient) -> None:
    """One account per role, each of whose printed credentials logs in with that role, all in one school."""
    assert _counts(app) == (0, 0)
    result = invoke(runner, "seed-demo")
    assert result.exit_code == 0, result.output
    credentials = CREDENTIALS.findall(result.output)
    assert sorted(role for role, _, _ in credentials) == sorted(r.value for r in SCHOOL_ROLES)
    assert _counts(app) == (1, len(SCHOOL_ROLES))
    schools = set()
    for role, username, password in credentials:
        response = _login(client, username, password)
        assert response.status_code == 201, (role, response.get_json())
        assert response.get_json()["user"]["role"] == role
        schools.add(response.get_json()["user"]["school_id"])
    assert len(schools) == 1
    # The passwords are random per run, not a shared default.
    assert len({password for _, _, password in credentials}) == len(SCHOOL_ROLES)


def test_seed_demo_twice_adds_nothing(app: Flask, runner: FlaskCliRunner) -> None:
    assert invoke(runner, "seed-demo").exit_code == 0
    before = _counts(app)
    result = invoke(runner, "seed-demo")
    assert result.exit_code == 0
    assert CREDENTIALS.findall(result.output) == []
    assert _counts(app) == before


def test_seed_demo_on_non_empty_database_adds_nothing(app: Flask, runner: FlaskCliRunner) -> None:
    """A database holding any school (a real one) gets no demo accounts."""
    _create_school(runner, "A real school")
    before = _counts(app)
    result = invoke(runner, "seed-demo")
    assert result.exit_code == 0
    assert CREDENTIALS.findall(result.output) == []
    assert _counts(app) == before == (1, 0)


def test_real_flask_command_line(instance: Path, app: Flask, client: FlaskClient) -> None:
    """``flask --app wsgi create-school`` / ``create-user --password-stdin`` as an operator types them."""
    made = run_flask(instance, "create-school", "--name", "Subprocess school")
    assert made.returncode == 0, made.stderr
    school_id = made.stdout.strip().splitlines()[-1]
    uuid.UUID(school_id)
    user = run_flask(
        instance,
        "create-user", "--school", school_id, "--role", "commission", "--username", "cli-user",
        "--full-name", "Бактыгүл Тестова", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert user.returncode == 0, user.stderr
    response = _login(client, "cli-user", PASSWORD)
    assert response.status_code == 201
    assert response.get_json()["user"]["school_id"] == school_id


def test_school_settings_are_shown_and_changed_all_or_nothing(app: Flask, runner: FlaskCliRunner, factory) -> None:
    school = factory.school()
    shown = runner.invoke(args=["school-settings", "--school", str(school.uuid)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["quorum"] == 3 and json.loads(shown.output)["due_in_days"] == 5
    changed = runner.invoke(
        args=["school-settings", "--school", str(school.uuid), "--set", "quorum=2", "--set", 'days_off=["2026-03-23"]']
    )
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output)["quorum"] == 2 and json.loads(changed.output)["days_off"] == ["2026-03-23"]
    refused = runner.invoke(
        args=["school-settings", "--school", str(school.uuid), "--set", "quorum=2", "--set", "week=7"]
    )
    assert refused.exit_code == 1 and "week" in refused.output
    for bad in (["--set", "quorum"], ["--set", "quorum=two"]):
        assert runner.invoke(args=["school-settings", "--school", str(school.uuid), *bad]).exit_code == 2
    with app.app_context():
        stored = db.session.get(School, school.id)
        assert stored is not None and stored.settings == {"quorum": 2, "days_off": ["2026-03-23"]}


def test_a_district_is_created_schools_linked_and_its_viewer_logs_in(
    app: Flask, runner: FlaskCliRunner, client
) -> None:
    school_id = _create_school(runner)
    result = invoke(runner, "create-district", "--name", "Тоң району")
    assert result.exit_code == 0, result.output
    district_id = result.output.strip().splitlines()[-1]
    assert invoke(runner, "link-school", "--district", district_id, "--school", school_id).exit_code == 0
    viewer = runner.invoke(
        args=[
            "create-user",
            "--district",
            district_id,
            "--role",
            "district",
            "--username",
            "rayon",
            "--full-name",
            "Райондун адиси",
            "--password-stdin",
        ],
        input="a district password\n",
    )
    assert viewer.exit_code == 0, viewer.output
    response = client.post(
        "/api/v1/auth/token", json={"username": "rayon", "password": "a district password", "device_name": "office"}
    )
    assert response.status_code == 201 and response.get_json()["user"] == {
        "id": viewer.output.strip().splitlines()[-1],
        "role": "district",
        "school_id": None,
        "full_name": "Райондун адиси",
    }
    token = response.get_json()["token"]
    figures = client.get("/api/v1/district/figures", headers={"Authorization": f"Bearer {token}"}).get_json()["figures"]
    assert [school["name"] for school in figures["schools"]] == ["School No. 7"]
    # Roles and owners that do not fit are refused before anything is written.
    for args in (
        ["--school", school_id, "--role", "district"],
        ["--district", district_id, "--role", "admin"],
        ["--district", district_id, "--school", school_id, "--role", "district"],
    ):
        assert (
            runner.invoke(
                args=["create-user", *args, "--username", "x", "--full-name", "X", "--password-stdin"],
                input="a long password\n",
            ).exit_code
            == 2
        ), args
    assert invoke(runner, "link-school", "--district", str(uuid.uuid4()), "--school", school_id).exit_code == 2
