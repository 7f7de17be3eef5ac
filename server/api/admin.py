"""``/api/v1/admin``: the school's accounts, devices and settings, for its admin only; each change is an
entry of the school's audit trail (``server/services/admin.py``)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import Schema, fields, missing, validate

from server.api import BEARER, require_role
from server.services import admin
from server.services.accounts import MIN_PASSWORD_LENGTH
from server.services.audit_log import Who
from sync.events import Role
from sync.fields import NOT_BLANK, SafeString, StrictBoolean
from sync.schemas import ErrorSchema, SchoolSettingsSchema

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="The school's administration.")


class UserSchema(Schema):
    id = fields.UUID(attribute="uuid", required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)
    disabled_at = fields.DateTime(allow_none=True, required=True)


# A password shorter than this is refused by the service as 400 ``password_too_short`` (a code the PWA words),
# not by the schema as a 422: the schema only says so.
PASSWORD_RULE = f"At least {MIN_PASSWORD_LENGTH} characters, or 400 password_too_short."


def _password() -> SafeString:
    return SafeString(
        required=True,
        load_only=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"description": PASSWORD_RULE},
    )


class NewUserSchema(Schema):
    username = SafeString(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK])
    full_name = SafeString(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    password = _password()


class PasswordSchema(Schema):
    password = _password()


class DeviceSchema(Schema):
    id = fields.UUID(attribute="uuid", required=True)
    name = fields.String(required=True)
    user = fields.Function(lambda device: {"id": str(device.user.uuid), "full_name": device.user.full_name})
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)
    last_seq = fields.Integer(required=True)


class UsersSchema(Schema):
    users = fields.List(fields.Nested(UserSchema), required=True)


class DevicesSchema(Schema):
    devices = fields.List(fields.Nested(DeviceSchema), required=True)


class AdminSettingsSchema(SchoolSettingsSchema):
    """Every school setting with its value in force, and the two that only the admin sees here."""

    name = fields.String(required=True)
    director_reads_contents = fields.Boolean(required=True)


def _unchanged_when_absent(field: fields.Field[Any]) -> fields.Field[Any]:
    """A setting's own field and checks, without its default: a change names only what it changes."""
    changed = copy.copy(field)
    changed.load_default = missing
    return changed


# PATCH /admin/settings: some of the settings, each checked on its own here (unknown names refused); the
# service then checks the merged whole with the stored settings, and changes nothing on a 422.
SettingsChangesSchema = Schema.from_dict(
    {
        "name": SafeString(validate=[validate.Length(min=1, max=200), NOT_BLANK]),
        "director_reads_contents": StrictBoolean(),
        **{name: _unchanged_when_absent(field) for name, field in SchoolSettingsSchema._declared_fields.items()},
    },
    name="SettingsChanges",
)


class SettingsSchema(Schema):
    settings = fields.Nested(AdminSettingsSchema, required=True)


View = TypeVar("View", bound=Callable[..., Any])
ADMIN_ONLY = ((401, "No valid token."), (403, "Not the school's admin."))
NO_SUCH_USER = (404, "No such user in this school.")
NOT_JSON = (400, "invalid_json: the body is not JSON.")
PROTECTED = (409, "director_protected: a director's account is changed only from the command line.")
TOO_SHORT = (400, "invalid_json, or password_too_short: " + PASSWORD_RULE)


def _answers(*answers: tuple[int, str]) -> Callable[[View], View]:
    """Document each error an endpoint answers with, in the shared envelope."""

    def document(view: View) -> View:
        for status, description in answers:
            view = blp.alt_response(status, schema=ErrorSchema, description=description)(view)
        return view

    return document


def _admin() -> Any:
    return require_role(Role.ADMIN)


@blp.route("/users", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, UsersSchema)
@_answers(*ADMIN_ONLY)
def list_users() -> dict[str, Any]:
    return {"users": admin.users(_admin().school)}


@blp.route("/users", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(NewUserSchema)
@blp.response(201, UserSchema)
@_answers(*ADMIN_ONLY, TOO_SHORT, (409, "username_taken."))
def create_user(body: dict[str, Any]) -> Any:
    actor = _admin()
    role, username, full_name = Role(body["role"]), body["username"], body["full_name"]
    return admin.create_user(actor.school, Who.of(actor), role, username, full_name, body["password"])


@blp.route("/users/<uuid:user_id>/disable", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, UserSchema)
@_answers(*ADMIN_ONLY, NO_SUCH_USER, (409, "own_account: an admin cannot disable themself; or director_protected."))
def disable_user(user_id: uuid.UUID) -> Any:
    return admin.set_disabled(_admin(), user_id, True)


@blp.route("/users/<uuid:user_id>/enable", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, UserSchema)
@_answers(*ADMIN_ONLY, NO_SUCH_USER)
def enable_user(user_id: uuid.UUID) -> Any:
    """Enabled again, the account's old tokens stay dead (401 invalid_token): its devices log in again."""
    return admin.set_disabled(_admin(), user_id, False)


@blp.route("/users/<uuid:user_id>/password", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(PasswordSchema)
@blp.response(200, UserSchema)
@_answers(*ADMIN_ONLY, NO_SUCH_USER, TOO_SHORT, PROTECTED)
def reset_password(body: dict[str, Any], user_id: uuid.UUID) -> Any:
    return admin.reset_password(_admin(), user_id, body["password"])


@blp.route("/devices", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, DevicesSchema)
@_answers(*ADMIN_ONLY)
def list_devices() -> dict[str, Any]:
    return {"devices": admin.devices(_admin().school)}


@blp.route("/devices/<uuid:device_id>/revoke", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, DeviceSchema)
@_answers(*ADMIN_ONLY, (404, "No such device in this school."))
def revoke_device(device_id: uuid.UUID) -> Any:
    actor = _admin()
    return admin.revoke(actor.school, Who.of(actor), device_id)


@blp.route("/devices/<uuid:device_id>/readmit", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, DeviceSchema)
@_answers(*ADMIN_ONLY, (404, "No such device in this school."))
def readmit_device(device_id: uuid.UUID) -> Any:
    """A revoked device may log in again (its old token stays dead); a device not revoked is left as it is."""
    actor = _admin()
    return admin.readmit(actor.school, Who.of(actor), device_id)


@blp.route("/settings", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, SettingsSchema)
@_answers(*ADMIN_ONLY)
def get_settings() -> dict[str, Any]:
    return {"settings": admin.settings(_admin().school)}


@blp.route("/settings", methods=["PATCH"])
@blp.doc(**BEARER)
@blp.arguments(SettingsChangesSchema)
@blp.response(200, SettingsSchema)
@_answers(*ADMIN_ONLY, NOT_JSON)
def patch_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Change some settings; all are checked together with the stored ones, nothing changes on a 422."""
    actor = _admin()
    # Stored as plain JSON (ISO dates), the way the wire wrote them.
    return {"settings": admin.update_settings(actor.school, Who.of(actor), SettingsChangesSchema().dump(changes))}
