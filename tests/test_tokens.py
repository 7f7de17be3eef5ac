"""The life of a device's token: it slides while the device is used, dies unused, and ends at once when the
device is revoked, the user disabled or the password changed.

Time passes by moving ``expires_at`` back in the database: a token with 14 days left is the token of a
device last used 16 days ago, whatever the wall clock says.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from server.db import WRITE_OPTION, db
from server.models import Device, User, utcnow
from sync.events import Role
from tests.factory import PASSWORD, Factory

NEW_PASSWORD = "a brand new password"


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, "device_name": "tablet"}
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


def me(client: FlaskClient, session: dict[str, Any]) -> tuple[int, str | None]:
    response = client.get("/api/v1/me", headers=bearer(session))
    return response.status_code, (response.get_json() or {}).get("error")


def left(app: Flask, session: dict[str, Any]) -> dt.timedelta:
    """How long the device's token has left."""
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == uuid.UUID(session["device_id"])))
        assert device is not None
        return device.expires_at - utcnow()


def days_pass(app: Flask, session: dict[str, Any], days: float) -> None:
    """``days`` go by without the device calling."""
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == uuid.UUID(session["device_id"])))
        assert device is not None
        device.expires_at -= dt.timedelta(days=days)
        db.session.commit()


def near(actual: dt.timedelta, days: float) -> bool:
    return abs(actual - dt.timedelta(days=days)) < dt.timedelta(minutes=1)


@pytest.fixture
def pedagogue(factory: Factory) -> str:
    return factory.user(factory.school())


# -- sliding expiry ----------------------------------------------------------------------------------


def test_a_token_used_on_day_29_is_still_good_on_day_45(app, client, pedagogue):
    session = login(client, pedagogue)
    assert near(left(app, session), 30)
    days_pass(app, session, 29)
    assert me(client, session) == (200, None)  # day 29: used, so it slides to a full 30 days again
    assert near(left(app, session), 30)
    days_pass(app, session, 16)
    assert me(client, session) == (200, None)  # day 45
    assert near(left(app, session), 30)


def test_an_unused_token_expires_after_30_days(app, client, pedagogue):
    session = login(client, pedagogue)
    days_pass(app, session, 30 - 1 / 24)
    assert me(client, session) == (200, None)  # an hour before its end it still works…
    days_pass(app, session, 30)  # …and, slid by that use, lives 30 days more unused
    assert me(client, session) == (401, "token_expired")


def test_the_expiry_moves_at_most_once_a_day(app, client, pedagogue):
    session = login(client, pedagogue)
    days_pass(app, session, 0.9)
    before = left(app, session)
    for _ in range(3):
        assert me(client, session) == (200, None)
    assert abs(left(app, session) - before) < dt.timedelta(seconds=5)  # no write for 22 hours' use
    days_pass(app, session, 0.2)
    assert me(client, session) == (200, None)
    assert near(left(app, session), 30)


def test_the_slide_is_a_write_of_its_own_after_a_read(app, client, pedagogue):
    """A GET keeps its plain read transaction (no write lock); the expiry moves after it, in a short write
    transaction that does nothing else."""
    session = login(client, pedagogue)
    days_pass(app, session, 2)
    statements: list[tuple[bool, str]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.upper().split()
        kind = " ".join(words[:2]) if words[0] == "BEGIN" else words[0]
        statements.append((bool(conn.get_execution_options().get(WRITE_OPTION)), kind))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        dialect = db.engine.dialect.name
    try:
        assert me(client, session) == (200, None)
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", record)
    assert near(left(app, session), 30)
    if dialect == "sqlite":  # the BEGINs are ours to write there (server/db.py)
        assert [kind for _, kind in statements if kind.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]
    # Setting the busy timeout around BEGIN IMMEDIATE (server.db._begin_immediate) is not a query.
    queries = [(write, kind) for write, kind in statements if not kind.startswith(("BEGIN", "PRAGMA"))]
    assert [kind for write, kind in queries if write] == ["UPDATE"], statements
    assert {kind for write, kind in queries if not write} == {"SELECT"}, statements
    assert queries[-1] == (True, "UPDATE")  # after every query of the request itself


def test_a_writing_request_slides_the_token_too(app, client, factory):
    device = factory.device()
    session = {"token": device.token, "device_id": device.device_id}
    days_pass(app, session, 10)
    factory.register(device)
    assert near(left(app, session), 30)


def test_the_lifetime_is_a_setting(app, client, pedagogue):
    app.config["TOKEN_TTL_DAYS"] = 7
    session = login(client, pedagogue)
    assert near(left(app, session), 7)
    days_pass(app, session, 0.5)
    assert me(client, session) == (200, None)
    assert near(left(app, session), 6.5)  # half a day of use: no slide yet
    days_pass(app, session, 1)
    assert me(client, session) == (200, None)
    assert near(left(app, session), 7)
    days_pass(app, session, 7)
    assert me(client, session) == (401, "token_expired")


def test_a_revoked_device_never_slides_back(app, client, pedagogue):
    session = login(client, pedagogue)
    days_pass(app, session, 3)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.uuid == uuid.UUID(session["device_id"])))
        device.revoked_at = utcnow()
        db.session.commit()
    assert me(client, session) == (401, "device_revoked")
    assert near(left(app, session), 27)


# -- the very next request ---------------------------------------------------------------------------


@pytest.fixture
def admin(client: FlaskClient, factory: Factory) -> tuple[dict[str, Any], Any]:
    school = factory.school()
    return login(client, factory.user(school, Role.ADMIN)), school


def test_revoking_a_device_refuses_its_next_request(app, client, factory, admin):
    admin_session, school = admin
    tablet = login(client, factory.user(school))
    assert me(client, tablet) == (200, None)
    answer = client.post(f"/api/v1/admin/devices/{tablet['device_id']}/revoke", headers=bearer(admin_session))
    assert answer.status_code == 200
    assert me(client, tablet) == (401, "device_revoked")


def test_disabling_a_user_refuses_their_next_request(app, client, factory, admin):
    admin_session, school = admin
    tablet = login(client, factory.user(school))
    assert me(client, tablet) == (200, None)
    answer = client.post(f"/api/v1/admin/users/{tablet['user']['id']}/disable", headers=bearer(admin_session))
    assert answer.status_code == 200
    assert me(client, tablet) == (401, "account_disabled")


def test_an_admins_reset_refuses_every_device_of_the_user(app, client, factory, admin):
    admin_session, school = admin
    username = factory.user(school)
    tablets = [login(client, username) for _ in range(2)]
    answer = client.post(
        f"/api/v1/admin/users/{tablets[0]['user']['id']}/password",
        json={"password": NEW_PASSWORD},
        headers=bearer(admin_session),
    )
    assert answer.status_code == 200
    assert [me(client, tablet) for tablet in tablets] == [(401, "device_revoked")] * 2


def change_password(client: FlaskClient, session: dict[str, Any], current: str, new: str = NEW_PASSWORD) -> Any:
    return client.post(
        "/api/v1/me/password", json={"current_password": current, "new_password": new}, headers=bearer(session)
    )


def test_changing_ones_password_refuses_the_other_devices_next_request(app, client, factory, pedagogue):
    other_user = login(client, factory.user(factory.school()))
    here, second, third = (login(client, pedagogue) for _ in range(3))
    answer = change_password(client, here, PASSWORD)
    assert (answer.status_code, answer.get_data()) == (204, b"")
    assert me(client, second) == (401, "device_revoked")
    assert me(client, third) == (401, "device_revoked")
    assert me(client, here) == (200, None)  # the device that changed it proved the password just now
    assert me(client, other_user) == (200, None)
    refused = client.post(
        "/api/v1/auth/token", json={"username": pedagogue, "password": PASSWORD, "device_name": "tablet"}
    )
    assert (refused.status_code, refused.get_json()["error"]) == (401, "invalid_credentials")
    assert me(client, login(client, pedagogue, NEW_PASSWORD)) == (200, None)


@pytest.mark.parametrize(
    ("current", "new", "status", "code"),
    [
        ("not the password", NEW_PASSWORD, 403, "wrong_password"),
        (PASSWORD, "x1y2z3w", 400, "password_too_short"),
    ],
)
def test_a_refused_change_changes_nothing(app, client, pedagogue, current, new, status, code):
    here, other = login(client, pedagogue), login(client, pedagogue)
    answer = change_password(client, here, current, new)
    assert (answer.status_code, answer.get_json()["error"]) == (status, code)
    assert new not in answer.get_data(as_text=True) and current not in answer.get_data(as_text=True)
    assert me(client, other) == (200, None)
    login(client, pedagogue, PASSWORD)


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": PASSWORD}, {"current_password": PASSWORD, "new_password": "x" * 1025},
     {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "extra": 1}],
)  # fmt: skip
def test_a_malformed_change_is_422(client, pedagogue, body):
    answer = client.post("/api/v1/me/password", json=body, headers=bearer(login(client, pedagogue)))
    assert (answer.status_code, answer.get_json()["error"]) == (422, "validation_error")


def test_a_district_viewer_changes_their_own_password(app, client, factory):
    viewer, _ = factory.district(factory.school())
    session = {"token": viewer.token, "device_id": viewer.device_id}
    assert change_password(client, session, PASSWORD).status_code == 204
    with app.app_context():
        user = db.session.scalar(select(Device).where(Device.uuid == uuid.UUID(viewer.device_id))).user
        assert isinstance(user, User) and user.role == "district"
        login(client, user.username, NEW_PASSWORD)
