"""The admin runs the school: accounts (create, disable, reset the password), devices (list, revoke) and
settings (checked together, nothing saved on a mistake); each takes effect at the very next request."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from server.models import School
from sync.client import SyncClient, SyncError
from sync.events import Role
from tests.factory import PASSWORD, Factory


class Admin:
    def __init__(self, client: FlaskClient, device: SyncClient) -> None:
        self.client, self.device = client, device

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.client.open(
            f"/api/v1/admin{path}", method=method, json=body, headers={"Authorization": f"Bearer {self.device.token}"}
        )
        return response.status_code, response.get_json()


@pytest.fixture
def school(factory: Factory) -> School:
    return factory.school()


@pytest.fixture
def admin(client: FlaskClient, factory: Factory, school: School) -> Admin:
    return Admin(client, factory.device(Role.ADMIN, school))


def login(factory: Factory, username: str, password: str = PASSWORD) -> SyncClient:
    device = SyncClient(factory.transport)
    device.login(username, password)
    return device


def login_again(client: FlaskClient, device: SyncClient, username: str, password: str = PASSWORD) -> tuple[int, Any]:
    """Log in on the same device (its ``device_id``); on 201 the device holds the fresh token."""
    body = {"username": username, "password": password, "device_name": "the same tablet", "device_id": device.device_id}
    response = client.post("/api/v1/auth/token", json=body)
    answer = response.get_json()
    if response.status_code == 201:
        assert answer["device_id"] == device.device_id
        device.token = answer["token"]
    return response.status_code, answer


def test_accounts_are_created_disabled_enabled_and_given_new_passwords(client, factory, school, admin):
    status, user = admin(
        "POST",
        "/users",
        {"username": "aigul", "full_name": "Айгүл Ж.", "role": "pedagogue", "password": "a long password"},
    )
    assert status == 201 and user["role"] == "pedagogue" and "password" not in user
    assert (
        admin(
            "POST", "/users", {"username": "aigul", "full_name": "X", "role": "admin", "password": "a long password"}
        )[1]["error"]
        == "username_taken"
    )
    assert admin("POST", "/users", {"username": "b", "full_name": "X", "role": "admin", "password": "short"})[1][
        "error"
    ] == ("password_too_short")
    assert (
        admin("POST", "/users", {"username": "c", "full_name": "X", "role": "janitor", "password": "a long password"})[
            0
        ]
        == 422
    )
    tablet = login(factory, "aigul", "a long password")
    tablet.pull()

    assert admin("POST", f"/users/{user['id']}/disable")[1]["disabled_at"] is not None
    with pytest.raises(SyncError) as refused:
        tablet.pull()
    assert refused.value.code == "account_disabled"
    assert admin("POST", f"/users/{user['id']}/enable")[1]["disabled_at"] is None
    with pytest.raises(SyncError) as refused:
        tablet.pull()  # enabled again, the token from before is dead: the tablet asks for the password
    assert refused.value.code == "invalid_token"
    assert login_again(client, tablet, "aigul", "a long password")[0] == 201
    tablet.pull()

    assert admin("POST", f"/users/{user['id']}/password", {"password": "a new long password"})[0] == 200
    with pytest.raises(SyncError) as refused:
        tablet.pull()  # every device of the user logs in again
    assert refused.value.code == "device_revoked"
    with pytest.raises(SyncError):
        login(factory, "aigul", "a long password")
    login(factory, "aigul", "a new long password").pull()
    assert login_again(client, tablet, "aigul", "a new long password")[0] == 201  # re-admitted by the new password
    tablet.pull()
    assert {u["username"] for u in admin("GET", "/users")[1]["users"]} >= {"aigul"}


def test_an_admin_cannot_lock_themself_out(admin):
    me = next(u for u in admin("GET", "/users")[1]["users"] if u["role"] == "admin")
    status, body = admin("POST", f"/users/{me['id']}/disable")
    assert (status, body["error"]) == (409, "own_account")


def test_devices_are_listed_and_revoked_at_once(factory, school, admin):
    tablet = factory.device(Role.PEDAGOGUE, school)
    devices = admin("GET", "/devices")[1]["devices"]
    assert tablet.device_id in {d["id"] for d in devices}
    assert admin("POST", f"/devices/{tablet.device_id}/revoke")[1]["revoked_at"] is not None
    with pytest.raises(SyncError) as refused:
        tablet.pull()
    assert refused.value.code == "device_revoked"
    stranger = factory.device(Role.PEDAGOGUE)  # another school's tablet is not this admin's to see or revoke
    assert stranger.device_id not in {d["id"] for d in admin("GET", "/devices")[1]["devices"]}
    assert admin("POST", f"/devices/{stranger.device_id}/revoke")[1]["error"] == "device_not_found"
    stranger.pull()


def test_settings_change_together_or_not_at_all(factory, school, admin):
    status, body = admin("GET", "/settings")
    assert status == 200 and body["settings"]["quorum"] == 3 and body["settings"]["name"] == school.name
    change = {
        "name": "Мектеп № 7",
        "quorum": 2,
        "days_off": ["2026-03-23"],
        "director_reads_contents": True,
        "commission_members": [{"name": "А. Ж.", "position": "социалдык педагог"}],
    }
    status, body = admin("PATCH", "/settings", change)
    assert status == 200
    assert {k: body["settings"][k] for k in change} == change
    assert admin("PATCH", "/settings", {"languages": ["ky", "ru"]})[1]["settings"]["languages"] == ["ky", "ru"]
    body = admin("GET", "/settings")[1]
    # A change names only what it changes: the body's schema gives no defaults that would reset the rest.
    assert {k: body["settings"][k] for k in change} == change
    for bad in (
        {"languages": []},
        {"languages": ["ky", "ky"]},
        {"languages": ["de"]},
        {"quorum": 2, "week": 7},
        {"colour": "red"},
        {"name": " "},
        {"director_reads_contents": "yes"},
        {},
        {"days_off": ["23.03.2026"]},
        {"quorum": "2"},
        {"trust_phones": [{"label": "Ишеним", "phone": "+996 312 000 000", "colour": "red"}]},
        ["quorum"],
    ):
        status, refused = admin("PATCH", "/settings", bad)
        assert (status, refused["error"]) == (422, "validation_error"), bad
    assert admin("GET", "/settings")[1]["settings"] == body["settings"]  # nothing of a refused change was kept
    director = factory.device(Role.DIRECTOR, school)
    assert director.pull()["calendar"]["days_off"] == ["2026-03-23"]
