"""Who may call what: every API endpoint × every role, from the school that owns the data, from another
school, and with no token. The rows are checked against the app's URL map, so a new endpoint without a row
fails here until someone decides who may call it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.models import School
from sync.client import Outbox, SyncClient
from sync.events import SCHOOL_ROLES, Role
from tests.factory import PASSWORD, Factory, registration

ROLES = SCHOOL_ROLES
CANARY = "Authz-canary-7Q2"


@dataclass(frozen=True)
class Call:
    """How to call an endpoint as a device; ``body`` is built per caller (a push names its own device).

    A path may name ``{user}`` and ``{device}``: a user and a device of the first school. Called from
    another school such a target does not exist (404 where the role may call at all)."""

    method: str
    path: str
    body: Callable[[SyncClient | None], Any] | None = None

    @property
    def targets_own_school(self) -> bool:
        return "{" in self.path


def _push_body(device: SyncClient | None) -> dict[str, Any]:
    mutation = Outbox().add("appeal.registered", str(uuid.uuid4()), registration())
    return {"device_id": device.device_id if device else str(uuid.uuid4()), "mutations": [mutation]}


# endpoint (as Flask names it) → the call, and the status each role gets from its own school. The same
# call from another school gets the same status but never the first school's data (checked below).
MATRIX: dict[str, tuple[Call, dict[Role, int]]] = {
    "me.me": (Call("GET", "/api/v1/me"), dict.fromkeys(ROLES, 200)),
    "me.change_password": (
        Call("POST", "/api/v1/me/password", lambda _: {"current_password": PASSWORD, "new_password": "a new long one"}),
        dict.fromkeys(ROLES, 204),  # one's own password: every user, whatever the role
    ),
    "sync.push": (
        Call("POST", "/api/v1/sync/push", _push_body),
        {Role.PEDAGOGUE: 200, Role.COMMISSION: 403, Role.DIRECTOR: 403, Role.ADMIN: 403},
    ),
    "receipts.check": (
        Call("POST", "/api/v1/receipt-codes/check", lambda _: {"receipt_code": "K7M2QX"}),
        {Role.PEDAGOGUE: 200, Role.COMMISSION: 403, Role.DIRECTOR: 403, Role.ADMIN: 403},
    ),
    "sync.pull": (
        Call("GET", "/api/v1/sync/pull"),
        {Role.PEDAGOGUE: 200, Role.COMMISSION: 200, Role.DIRECTOR: 200, Role.ADMIN: 403},
    ),
    "reports.dashboard": (
        Call("GET", "/api/v1/dashboard"),
        {Role.PEDAGOGUE: 403, Role.COMMISSION: 200, Role.DIRECTOR: 200, Role.ADMIN: 200},
    ),
    "reports.monthly": (Call("GET", "/api/v1/reports/monthly?month=2025-03"), dict.fromkeys(ROLES, 200)),
    "audit.reads": (
        Call("GET", "/api/v1/audit/reads"),
        {Role.PEDAGOGUE: 403, Role.COMMISSION: 403, Role.DIRECTOR: 200, Role.ADMIN: 200},
    ),
    "audit.erasures": (
        Call("GET", "/api/v1/audit/erasures"),
        {Role.PEDAGOGUE: 403, Role.COMMISSION: 403, Role.DIRECTOR: 200, Role.ADMIN: 200},
    ),
    "district.district_figures": (Call("GET", "/api/v1/district/figures"), dict.fromkeys(ROLES, 403)),
    **{
        f"admin.{name}": (call, {**dict.fromkeys(ROLES, 403), Role.ADMIN: status})
        for name, call, status in [
            ("list_users", Call("GET", "/api/v1/admin/users"), 200),
            (
                "create_user",
                Call(
                    "POST",
                    "/api/v1/admin/users",
                    lambda _: {
                        "username": f"u{uuid.uuid4().hex[:8]}",
                        "full_name": "Жаңы мугалим",
                        "role": "commission",
                        "password": "long enough password",
                    },
                ),
                201,
            ),
            ("disable_user", Call("POST", "/api/v1/admin/users/{user}/disable"), 200),
            ("enable_user", Call("POST", "/api/v1/admin/users/{user}/enable"), 200),
            (
                "reset_password",
                Call("POST", "/api/v1/admin/users/{user}/password", lambda _: {"password": "another long one"}),
                200,
            ),
            ("list_devices", Call("GET", "/api/v1/admin/devices"), 200),
            ("revoke_device", Call("POST", "/api/v1/admin/devices/{device}/revoke"), 200),
            ("get_settings", Call("GET", "/api/v1/admin/settings"), 200),
            ("patch_settings", Call("PATCH", "/api/v1/admin/settings", lambda _: {"quorum": 2}), 200),
        ]
    },
}
# Public on purpose: logging in, and the API's own description.
PUBLIC = {
    "auth.issue_token": Call(
        "POST", "/api/v1/auth/token", lambda _: {"username": "x", "password": "y", "device_name": "z"}
    ),
    "api-docs.openapi_json": Call("GET", "/api/v1/openapi.json"),
}


def api_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}


def test_every_api_endpoint_has_a_row(app: Flask) -> None:
    assert api_endpoints(app) == set(MATRIX) | set(PUBLIC)


TARGETS = {"user": str(uuid.UUID(int=0)), "device": str(uuid.UUID(int=0))}  # filled by the fixture


def _call(client: FlaskClient, call: Call, device: SyncClient | None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {device.token}"} if device else {}
    body = call.body(device) if call.body else None
    response = client.open(call.path.format(**TARGETS), method=call.method, headers=headers, json=body)
    return response.status_code, response.get_data()


@pytest.fixture
def schools(app: Flask, factory: Factory) -> tuple[School, School]:
    """School A holds a letter carrying a canary, and the user and device the admin endpoints act on;
    school B holds nothing."""
    own, other = factory.school("School A"), factory.school("School B")
    target = SyncClient(factory.transport)
    login = target.login(factory.user(own, Role.PEDAGOGUE), PASSWORD)
    factory.register(target, summary=f"Letter {CANARY}", received_on="2025-03-10")
    TARGETS.update(user=login["user"]["id"], device=login["device_id"])
    return own, other


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_each_role_of_each_school(client, factory, schools, endpoint: str, role: Role) -> None:
    call, expected = MATRIX[endpoint]
    own, other = schools
    status, _ = _call(client, call, factory.device(role, own))
    assert status == expected[role]
    status, body = _call(client, call, factory.device(role, other))
    assert status == (404 if call.targets_own_school and expected[role] < 400 else expected[role])
    assert CANARY.encode() not in body  # another school's caller never sees the first school's letters
    if status == 200 and endpoint in ("reports.dashboard", "reports.monthly"):
        figures = json.loads(body)
        assert (figures.get("figures") or figures["school_year"])["received"] == 0


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_no_token_is_401(client, endpoint: str) -> None:
    call, _ = MATRIX[endpoint]
    status, body = _call(client, call, None)
    assert status == 401 and json.loads(body)["error"] == "missing_token"


@pytest.mark.parametrize("endpoint", sorted(PUBLIC))
def test_public_endpoints_need_no_token(client, endpoint: str) -> None:
    status, _ = _call(client, PUBLIC[endpoint], None)
    assert status in (200, 401)  # the docs answer; a login with unknown credentials is refused, not unauthorised
    if endpoint == "auth.issue_token":
        assert status == 401


def test_the_pedagogue_of_another_school_cannot_touch_a_letter(client, factory, schools) -> None:
    own, other = schools
    reader = factory.device(Role.PEDAGOGUE, own)
    changes, _ = reader.pull_all()
    letter = next(c for c in changes if c["entity"] == "appeal")
    stranger = factory.device(Role.PEDAGOGUE, other)
    outbox = Outbox()
    outbox.add("appeal.amended", letter["id"], {"changes": {"summary": "X"}, "reason": "Y."}, letter["version"])
    outbox.add(
        "appeal.answered",
        letter["id"],
        {"answered_on": "2025-03-11", "way": "in_person", "kind": "answer", "text": "Z"},
        1,
    )
    outbox.flush(stranger)
    assert [result["error"] for _, result in outbox.needs_attention] == ["appeal_not_found", "appeal_not_found"]
    assert reader.pull_all()[0][0]["version"] == letter["version"]


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_a_district_viewer_calls_only_the_district_figures(client, factory, schools, endpoint: str) -> None:
    """A district's viewer belongs to no school: every school endpoint is 403; its own figures are 200 and
    hold no letter, no name of a writer and no serial number."""
    own, _ = schools
    viewer, _ = factory.district(own)
    call, _ = MATRIX[endpoint]
    status, body = _call(client, call, viewer)
    if endpoint == "me.change_password":
        assert status == 204  # a district's viewer changes their own password like anyone
    elif endpoint == "district.district_figures":
        assert status == 200 and CANARY.encode() not in body
        figures = json.loads(body)["figures"]
        assert [school["name"] for school in figures["schools"]] == ["School A"]
        assert "serial_no" not in body.decode()
    else:
        assert (status, json.loads(body)["error"]) == (403, "role_not_allowed")
