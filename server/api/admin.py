"""``/api/v1/admin``: the school's accounts, devices and settings, for its admin only."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server.api import BEARER, require_role
from server.services import admin
from sync.events import Role
from sync.schemas import NOT_BLANK, SafeString

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="The school's administration.")


class UserSchema(Schema):
    id = fields.UUID(attribute="uuid", required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)
    disabled_at = fields.DateTime(allow_none=True, required=True)


class NewUserSchema(Schema):
    username = SafeString(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK])
    full_name = SafeString(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    password = SafeString(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class PasswordSchema(Schema):
    password = SafeString(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


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


class SettingsSchema(Schema):
    settings = fields.Dict(
        required=True, metadata={"description": "name, director_reads_contents and every school setting"}
    )


def _admin() -> Any:
    return require_role(Role.ADMIN)


@blp.route("/users", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, UsersSchema)
def list_users() -> dict[str, Any]:
    return {"users": admin.users(_admin().school)}


@blp.route("/users", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(NewUserSchema)
@blp.response(201, UserSchema)
def create_user(body: dict[str, Any]) -> Any:
    actor = _admin()
    return admin.create_user(actor.school, Role(body["role"]), body["username"], body["full_name"], body["password"])


@blp.route("/users/<uuid:user_id>/disable", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, UserSchema)
def disable_user(user_id: uuid.UUID) -> Any:
    return admin.set_disabled(_admin(), user_id, True)


@blp.route("/users/<uuid:user_id>/enable", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, UserSchema)
def enable_user(user_id: uuid.UUID) -> Any:
    return admin.set_disabled(_admin(), user_id, False)


@blp.route("/users/<uuid:user_id>/password", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(PasswordSchema)
@blp.response(200, UserSchema)
def reset_password(body: dict[str, Any], user_id: uuid.UUID) -> Any:
    return admin.reset_password(_admin().school, user_id, body["password"])


@blp.route("/devices", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, DevicesSchema)
def list_devices() -> dict[str, Any]:
    return {"devices": admin.devices(_admin().school)}


@blp.route("/devices/<uuid:device_id>/revoke", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, DeviceSchema)
def revoke_device(device_id: uuid.UUID) -> Any:
    return admin.revoke(_admin().school, device_id)


@blp.route("/settings", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, SettingsSchema)
def get_settings() -> dict[str, Any]:
    return {"settings": _plain_settings(admin.settings(_admin().school))}


@blp.route("/settings", methods=["PATCH"])
@blp.doc(**BEARER)
@blp.response(200, SettingsSchema)
def patch_settings() -> dict[str, Any]:
    """Change some settings (a JSON object of them); all are checked together, nothing changes on a 422."""
    school = _admin().school
    return {"settings": _plain_settings(admin.update_settings(school, request.get_json(silent=True)))}


def _plain_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        key: [d.isoformat() if hasattr(d, "isoformat") else d for d in value] if isinstance(value, list) else value
        for key, value in settings.items()
    }
