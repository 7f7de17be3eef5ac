"""Logging in, device tokens and their end: expiry, revocation, disabled accounts, re-authentication."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from server.db import db
from server.models import Device, User, utcnow
from sync.client import SyncClient, SyncError
from sync.events import Role
from tests.factory import PASSWORD


def login(client, username, password=PASSWORD, **extra):
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, "device_name": "tablet", **extra}
    )


def test_login_enrols_a_device_with_a_long_random_token(app, client, factory):
    school = factory.school()
    username = factory.user(school, Role.COMMISSION)
    response = login(client, username)
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["token"]) >= 43  # 32 random bytes, url-safe base64: 256 bits
    assert body["user"]["role"] == "commission" and body["user"]["school_id"] == str(school.uuid)
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(days=29) < expires - utcnow() <= dt.timedelta(days=30)
    assert login(client, username).get_json()["token"] != body["token"]


@pytest.mark.parametrize(
    ("username", "password"), [("nobody", PASSWORD), (None, "wrong password"), (None, PASSWORD.upper())]
)
def test_wrong_credentials_are_401_without_telling_which(client, factory, username, password):
    real = factory.user(factory.school())
    response = login(client, username or real, password)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_credentials"


def _device_row(app, device_id):
    return db.session.scalar(select(Device).where(Device.uuid == uuid.UUID(device_id)))


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        (lambda device: setattr(device, "expires_at", utcnow() - dt.timedelta(seconds=1)), "token_expired"),
        (lambda device: setattr(device, "revoked_at", utcnow()), "device_revoked"),
        (lambda device: setattr(device.user, "disabled_at", utcnow()), "account_disabled"),
    ],
)
def test_a_spoilt_token_is_refused_on_the_very_next_request(app, factory, spoil, code):
    device = factory.device()
    device.pull()
    with app.app_context():
        spoil(_device_row(app, device.device_id))
        db.session.commit()
    with pytest.raises(SyncError) as refused:
        device.pull()
    assert (refused.value.status, refused.value.code) == (401, code)


def test_a_disabled_account_cannot_log_in(app, client, factory):
    username = factory.user(factory.school())
    with app.app_context():
        db.session.scalar(select(User).where(User.username == username)).disabled_at = utcnow()
        db.session.commit()
    assert login(client, username).get_json()["error"] == "account_disabled"


def test_reauthenticating_keeps_the_device_and_its_last_seq(app, client, factory):
    device = factory.device()
    factory.register(device, count=2)
    with app.app_context():
        user = _device_row(app, device.device_id).user.username
    response = login(client, user, device_id=device.device_id)
    assert response.status_code == 201
    body = response.get_json()
    assert body["device_id"] == device.device_id
    old_token, device.token = device.token, body["token"]
    assert device.push([])["last_seq"] == 2
    stale = SyncClient(device.transport, token=old_token, device_id=device.device_id)
    with pytest.raises(SyncError) as refused:
        stale.pull()
    assert refused.value.code == "invalid_token"


def test_a_revoked_device_cannot_reauthenticate(app, client, runner, factory):
    device = factory.device()
    result = runner.invoke(args=["revoke-device", device.device_id])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = _device_row(app, device.device_id).user.username
    response = login(client, user, device_id=device.device_id)
    assert (response.status_code, response.get_json()["error"]) == (401, "device_revoked")
    assert login(client, user).status_code == 201  # a fresh enrolment is still possible


def test_revoking_an_unknown_device_fails(runner):
    result = runner.invoke(args=["revoke-device", str(uuid.uuid4())])
    assert result.exit_code != 0 and "No such device" in result.output


def test_another_users_device_id_cannot_be_taken_over(app, client, factory):
    school = factory.school()
    victim = factory.device(school=school)
    other = factory.user(school)
    response = login(client, other, device_id=victim.device_id)
    assert (response.status_code, response.get_json()["error"]) == (401, "device_revoked")
    victim.pull()  # the victim's token still works


def test_the_users_own_new_password_readmits_the_devices_revoked_before_it(app, client, runner, factory):
    """A lost tablet revoked by the operator comes back once its user has set a new password elsewhere;
    one revoked after that stays out."""
    school = factory.school()
    username = factory.user(school)
    lost = SyncClient(factory.transport)
    lost.login(username, PASSWORD)
    assert runner.invoke(args=["revoke-device", lost.device_id]).exit_code == 0
    assert login(client, username, device_id=lost.device_id).get_json()["error"] == "device_revoked"

    other = SyncClient(factory.transport)
    other.login(username, PASSWORD)
    change = {"current_password": PASSWORD, "new_password": "my own new password"}
    response = client.post("/api/v1/me/password", json=change, headers={"Authorization": f"Bearer {other.token}"})
    assert response.status_code == 204
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == username)).password_changed_at is not None
    assert login(client, username, device_id=lost.device_id).get_json()["error"] == "invalid_credentials"
    response = login(client, username, "my own new password", device_id=lost.device_id)
    assert response.status_code == 201 and response.get_json()["device_id"] == lost.device_id
    lost.token = response.get_json()["token"]
    lost.pull()
    with app.app_context():
        assert _device_row(app, lost.device_id).revoked_at is None

    assert runner.invoke(args=["revoke-device", lost.device_id]).exit_code == 0
    assert login(client, username, "my own new password", device_id=lost.device_id).get_json()["error"] == (
        "device_revoked"
    )
