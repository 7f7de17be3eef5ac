"""The audit trail of views and administrative actions: letters opened on the tablets (sent once, by id), every
change to accounts, devices and settings (from the admin or the command line), the director's notices of
accounts reading letters; one chain per school that ``verify`` checks; listed and exported for the admin and
the director."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, update

from server.db import db
from server.models import AuditEntry, School, User
from sync.client import SyncClient
from sync.events import Role
from tests.clock import school_today
from tests.factory import PASSWORD, Factory

CANARY = "Trail-canary-P4"


class Caller:
    """Calls the API as one device."""

    def __init__(self, client: FlaskClient, device: SyncClient) -> None:
        self.client, self.device = client, device

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.client.open(
            f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {self.device.token}"}
        )
        return response.status_code, response.get_json() if response.is_json else response.get_data(as_text=True)


def moment(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).isoformat().replace("+00:00", "Z")


def view(appeal_id: str, viewed_at: str | None = None, view_id: str | None = None) -> dict[str, str]:
    return {"id": view_id or str(uuid.uuid4()), "appeal_id": appeal_id, "viewed_at": viewed_at or moment()}


def letters_of(device: SyncClient) -> list[dict[str, Any]]:
    return [change for change in device.pull_all()[0] if change["entity"] == "appeal"]


@pytest.fixture
def school(factory: Factory) -> School:
    return factory.school()


def test_the_admins_every_step_is_in_the_directors_view(client, factory, school, app, runner) -> None:
    """An admin creates a commission account, lets the director read contents, and reads letters as that
    account (pulls, then opens them): the director sees each step."""
    factory.register(factory.device(Role.PEDAGOGUE, school), count=2, summary=f"Letter {CANARY}")
    admin = Caller(client, factory.device(Role.ADMIN, school))
    director = Caller(client, factory.device(Role.DIRECTOR, school))
    director_notices_before = {n["user"]["username"] for n in director("GET", "/audit/notices")[1]["notices"]}

    status, spy = admin(
        "POST",
        "/admin/users",
        {"username": "spy", "full_name": "Шпион Ш.", "role": "commission", "password": "a long password"},
    )
    assert status == 201
    assert admin("PATCH", "/admin/settings", {"director_reads_contents": True, "retention_years": 7})[0] == 200
    tablet = SyncClient(factory.transport)
    tablet.login("spy", "a long password", device_name="the admin's laptop")
    letters = letters_of(tablet)
    assert len(letters) == 2
    spy_tablet = Caller(client, tablet)
    sent = [view(letter["id"]) for letter in letters]
    status, body = spy_tablet("POST", "/audit/views", {"views": sent})
    assert (status, body) == (200, {"recorded": [v["id"] for v in sent], "refused": []})

    # Admin actions: the account created and the settings changed, before → after.
    status, body = director("GET", "/audit/admin-actions")
    assert status == 200
    created = next(
        a for a in body["actions"] if a["action"] == "user_created" and a["target"]["user"]["id"] == spy["id"]
    )
    assert created["by"]["role"] == "admin" and created["device"]["id"] == admin.device.device_id
    assert created["target"]["user"] == {
        "id": spy["id"],
        "full_name": "Шпион Ш.",
        "role": "commission",
        "username": "spy",
    }
    settings = next(a for a in body["actions"] if a["action"] == "settings_changed")
    assert settings["changes"] == [
        {"setting": "director_reads_contents", "before": False, "after": True},
        {"setting": "retention_years", "before": 5, "after": 7},
    ]
    assert settings["by"]["role"] == "admin" and settings["operator"] is None
    assert [a["action"] for a in body["actions"]][:2] == ["settings_changed", "user_created"]  # newest first

    # Notices: the new account that reads letters, and who made it.
    notices = director("GET", "/audit/notices")[1]["notices"]
    new = [n for n in notices if n["user"]["username"] not in director_notices_before]
    assert [n["user"]["username"] for n in new] == ["spy"]
    assert new[0]["created_by"]["role"] == "admin" and new[0]["user"]["role"] == "commission"

    # Deliveries: the pull, to that account on that device.
    deliveries = director("GET", "/audit/deliveries")[1]["deliveries"]
    spy_pulls = [d for d in deliveries if d["user"]["id"] == spy["id"]]
    assert len(spy_pulls) == 1 and spy_pulls[0]["device"] == {"id": tablet.device_id, "name": "the admin's laptop"}
    assert sorted(letter["serial_no"] for letter in spy_pulls[0]["letters"]) == [1, 2]

    # Views: the openings, with user, role and device.
    views = director("GET", "/audit/views")[1]["views"]
    assert len(views) == 2
    for entry in views:
        assert entry["user"] == {"id": spy["id"], "full_name": "Шпион Ш.", "role": "commission"}
        assert entry["device"]["id"] == tablet.device_id
    assert sorted(entry["serial_no"] for entry in views) == [1, 2]
    assert CANARY not in str(deliveries) + str(views)

    # The director acknowledges the account: the notice goes, and the acknowledgement is an action too.
    status, body = director("POST", f"/audit/notices/{spy['id']}/acknowledge")
    assert status == 200 and "spy" not in {n["user"]["username"] for n in body["notices"]}
    acknowledged = director("GET", "/audit/admin-actions")[1]["actions"][0]
    assert acknowledged["action"] == "access_acknowledged" and acknowledged["by"]["role"] == "director"
    assert acknowledged["target"]["user"]["id"] == spy["id"]
    assert admin("POST", f"/audit/notices/{spy['id']}/acknowledge")[0] == 403  # the director's alone
    assert runner.invoke(args=["verify"]).exit_code == 0


def test_a_view_is_recorded_once_by_its_id_and_refused_when_wrong(client, factory, school) -> None:
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(pedagogue, count=2)
    first, second = (letter["id"] for letter in letters_of(pedagogue))
    tablet = Caller(client, pedagogue)
    sent = view(first)
    assert tablet("POST", "/audit/views", {"views": [sent]})[1] == {"recorded": [sent["id"]], "refused": []}
    assert tablet("POST", "/audit/views", {"views": [sent]})[1] == {"recorded": [sent["id"]], "refused": []}

    other_device = factory.device(Role.COMMISSION, school)
    reused_elsewhere = Caller(client, other_device)("POST", "/audit/views", {"views": [sent]})[1]
    assert reused_elsewhere == {"recorded": [], "refused": [{"id": sent["id"], "error": "id_reused"}]}
    stranger = factory.device(Role.PEDAGOGUE)  # another school's tablet knows no letter of this one
    batch = [
        {**sent, "appeal_id": second},  # the same id for another letter
        view(str(uuid.uuid4())),
        view(first, moment(dt.timedelta(minutes=10))),
        view(second, moment(dt.timedelta(minutes=4))),  # within the clocks' skew
        view(second, moment(-dt.timedelta(days=3))),  # opened offline days ago
    ]
    status, body = tablet("POST", "/audit/views", {"views": batch})
    assert status == 200
    assert body["refused"] == [
        {"id": batch[0]["id"], "error": "id_reused"},
        {"id": batch[1]["id"], "error": "appeal_not_found"},
        {"id": batch[2]["id"], "error": "date_in_future"},
    ]
    assert body["recorded"] == [batch[3]["id"], batch[4]["id"]]
    from_stranger = view(first)
    assert Caller(client, stranger)("POST", "/audit/views", {"views": [from_stranger]})[1] == {
        "recorded": [],
        "refused": [{"id": from_stranger["id"], "error": "appeal_not_found"}],
    }

    director = Caller(client, factory.device(Role.DIRECTOR, school))
    views = director("GET", "/audit/views")[1]["views"]
    assert len(views) == 3  # each stored once
    assert [v["viewed_at"] for v in views] == sorted((v["viewed_at"] for v in views), reverse=True)


def test_a_batch_of_views_is_bounded_and_checked_whole(client, factory, school) -> None:
    tablet = Caller(client, factory.device(Role.PEDAGOGUE, school))
    letter = str(uuid.uuid4())
    assert tablet("POST", "/audit/views", {"views": [view(letter) for _ in range(501)]})[0] == 422
    for bad in (
        {"views": [{**view(letter), "viewed_at": "2025-03-01T10:00:00"}]},  # no offset
        {"views": [{**view(letter), "id": "nope"}]},
        {"views": [{**view(letter), "contents": "x"}]},
        {"views": "all"},
        {},
    ):
        status, body = tablet("POST", "/audit/views", bad)
        assert (status, body["error"]) == (422, "validation_error"), bad
    assert Caller(client, factory.device(Role.DIRECTOR, school))("GET", "/audit/views")[1] == {"views": []}


def test_views_are_filtered_by_user_and_the_day_opened_and_exported(client, factory, school) -> None:
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(pedagogue, count=1)
    (letter,) = letters_of(pedagogue)
    commission = factory.device(Role.COMMISSION, school)
    commission.pull_all()
    Caller(client, pedagogue)("POST", "/audit/views", {"views": [view(letter["id"], moment(-dt.timedelta(days=3)))]})
    Caller(client, commission)("POST", "/audit/views", {"views": [view(letter["id"])]})
    admin = Caller(client, factory.device(Role.ADMIN, school))
    everyone = admin("GET", "/audit/views")[1]["views"]
    assert [v["user"]["role"] for v in everyone] == ["commission", "pedagogue"]
    commission_id = everyone[0]["user"]["id"]
    assert [v["user"]["role"] for v in admin("GET", f"/audit/views?user={commission_id}")[1]["views"]] == ["commission"]
    today = school_today()
    recent = admin("GET", f"/audit/views?from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}")
    assert [v["user"]["role"] for v in recent[1]["views"]] == ["commission"]  # the period is when it was opened
    assert admin("GET", "/audit/views?from=0001-01-01&to=9999-12-31")[1]["views"] == everyone
    assert admin("GET", "/audit/views?from=2021-01-02&to=2021-01-01")[0] == 422

    status, text = admin("GET", "/audit/views?format=csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert status == 200 and rows[0] == [
        "viewed_at",
        "recorded_at",
        "user_id",
        "user_full_name",
        "user_role",
        "device_id",
        "device_name",
        "school_year",
        "serial_no",
    ]
    assert [row[4] for row in rows[1:]] == ["commission", "pedagogue"] and rows[1][8] == "1"


def test_cells_a_spreadsheet_would_run_are_quoted(app, client, factory, school) -> None:
    admin = Caller(client, factory.device(Role.ADMIN, school))
    body = {"username": "formula", "full_name": "=HYPERLINK(1)", "role": "pedagogue", "password": "a long password"}
    assert admin("POST", "/admin/users", body)[0] == 201
    status, text = admin("GET", "/audit/admin-actions?format=csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status == 200 and rows[0]["target_user_full_name"] == "'=HYPERLINK(1)"
    assert rows[0]["action"] == "user_created" and rows[0]["by_role"] == "admin"


def test_command_line_changes_are_recorded_with_their_operator(app, client, factory, school, runner) -> None:
    school_id = str(school.uuid)
    result = runner.invoke(
        args=[
            *("create-user", "--school", school_id, "--role", "pedagogue"),
            *("--username", "cli-made", "--full-name", "Made Here", "--password-stdin"),
        ],
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["school-settings", "--school", school_id, "--set", "quorum=2"]).exit_code == 0
    tablet = SyncClient(factory.transport)
    tablet.login("cli-made", "a long password")
    assert runner.invoke(args=["revoke-device", tablet.device_id]).exit_code == 0
    director = Caller(client, factory.device(Role.DIRECTOR, school))
    actions = director("GET", "/audit/admin-actions")[1]["actions"]
    assert [a["action"] for a in actions] == ["device_revoked", "settings_changed", "user_created"]
    for action in actions:
        assert action["by"] is None and action["device"] is None and action["operator"].startswith("cli")
    assert actions[0]["target"]["device"]["id"] == tablet.device_id
    assert actions[0]["target"]["user"]["username"] == "cli-made"
    assert actions[1]["changes"] == [{"setting": "quorum", "before": 3, "after": 2}]
    notice = next(n for n in director("GET", "/audit/notices")[1]["notices"] if n["user"]["username"] == "cli-made")
    assert notice["created_by"] is None


def test_the_audit_is_read_by_the_admin_and_the_director_only(client, factory, school) -> None:
    for role, status in [(Role.PEDAGOGUE, 403), (Role.COMMISSION, 403), (Role.DIRECTOR, 200), (Role.ADMIN, 200)]:
        caller = Caller(client, factory.device(role, school))
        for path in ("/audit/views", "/audit/deliveries", "/audit/admin-actions", "/audit/notices"):
            assert caller("GET", path)[0] == status, (role, path)


def test_accounts_made_before_the_notices_raise_none(app, client, factory, school) -> None:
    """Migration 0012 marks existing accounts acknowledged when made; one marked so raises no notice."""
    username = factory.user(school, Role.PEDAGOGUE)
    director = Caller(client, factory.device(Role.DIRECTOR, school))
    assert username in {n["user"]["username"] for n in director("GET", "/audit/notices")[1]["notices"]}
    with app.app_context():
        db.session.execute(update(User).where(User.username == username).values(access_acknowledged_at=User.created_at))
        db.session.commit()
    assert username not in {n["user"]["username"] for n in director("GET", "/audit/notices")[1]["notices"]}
    assert director("POST", f"/audit/notices/{uuid.uuid4()}/acknowledge")[1]["error"] == "user_not_found"


def _trail(client: FlaskClient, factory: Factory, school: School) -> None:
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(pedagogue, count=1)
    (letter,) = letters_of(pedagogue)
    Caller(client, pedagogue)("POST", "/audit/views", {"views": [view(letter["id"]), view(letter["id"])]})
    admin = Caller(client, factory.device(Role.ADMIN, school))
    admin("PATCH", "/admin/settings", {"quorum": 2})
    admin(
        "POST",
        "/admin/users",
        {"username": f"u{uuid.uuid4().hex[:6]}", "full_name": "X", "role": "admin", "password": PASSWORD},
    )


def test_verify_names_an_altered_or_missing_audit_entry(app, client, factory, school, runner: FlaskCliRunner) -> None:
    _trail(client, factory, school)
    assert runner.invoke(args=["verify"]).exit_code == 0
    with app.app_context():
        db.session.execute(update(AuditEntry).where(AuditEntry.position == 3).values(details={"changes": []}))
        db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1 and "audit entry 3 (settings_changed)" in result.output
    assert "contents do not match" in result.output


def test_verify_names_a_removed_audit_entry_and_a_moved_head(app, client, factory, school, runner) -> None:
    _trail(client, factory, school)
    with app.app_context():
        db.session.execute(delete(AuditEntry).where(AuditEntry.position == 2))
        db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1 and "audit entry 3" in result.output and "missing" in result.output
    with app.app_context():
        db.session.execute(delete(AuditEntry).where(AuditEntry.position >= 3))
        db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1 and "audit trail head" in result.output


def test_migration_0012_counts_the_accounts_before_it_as_acknowledged(app, client, factory, school, runner) -> None:
    """Down below 0012 and up again on a populated database: every account made before it raises no notice,
    the trail starts empty, and verify agrees."""
    factory.user(school, Role.COMMISSION)
    director = Caller(client, factory.device(Role.DIRECTOR, school))
    assert director("GET", "/audit/notices")[1]["notices"] != []
    with app.app_context():
        db.session.remove()
    down = runner.invoke(args=["db", "downgrade", "0010"])
    assert down.exit_code == 0, (down.output, down.exception)
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, (up.output, up.exception)
    director = Caller(client, factory.device(Role.DIRECTOR, school))  # tokens survive; a fresh login anyway
    assert director("GET", "/audit/notices")[1]["notices"] == []
    assert director("GET", "/audit/admin-actions")[1]["actions"] == []
    assert runner.invoke(args=["verify"]).exit_code == 0


def test_a_director_the_admin_makes_is_a_notice_the_other_director_clears(client, factory, school) -> None:
    """A second director made from the admin screen would read letters once the setting is on: listed, and
    not cleared by itself while another director is there."""
    admin = Caller(client, factory.device(Role.ADMIN, school))
    director = Caller(client, factory.device(Role.DIRECTOR, school))
    password = "a long password"
    status, second = admin(
        "POST",
        "/admin/users",
        {"username": "deputy", "full_name": "Орун басар", "role": "director", "password": password},
    )
    assert status == 201
    assert "deputy" in {n["user"]["username"] for n in director("GET", "/audit/notices")[1]["notices"]}
    deputy_device = SyncClient(factory.transport)
    deputy_device.login("deputy", password, device_name="deputy's phone")
    deputy = Caller(client, deputy_device)
    status, body = deputy("POST", f"/audit/notices/{second['id']}/acknowledge")
    assert (status, body["error"]) == (409, "own_account")
    assert "deputy" in {n["user"]["username"] for n in director("GET", "/audit/notices")[1]["notices"]}
    status, body = director("POST", f"/audit/notices/{second['id']}/acknowledge")
    assert status == 200 and "deputy" not in {n["user"]["username"] for n in body["notices"]}


def test_a_schools_only_director_made_by_the_admin_acknowledges_their_own_account(client, factory) -> None:
    school = factory.school()
    admin = Caller(client, factory.device(Role.ADMIN, school))
    password = "a long password"
    status, made = admin(
        "POST", "/admin/users", {"username": "head", "full_name": "Директор", "role": "director", "password": password}
    )
    assert status == 201
    device = SyncClient(factory.transport)
    device.login("head", password, device_name="office")
    head = Caller(client, device)
    assert [n["user"]["username"] for n in head("GET", "/audit/notices")[1]["notices"]] == ["head"]
    status, body = head("POST", f"/audit/notices/{made['id']}/acknowledge")
    assert (status, body["notices"]) == (200, [])
