"""``/api/v1/me``: who the token belongs to, the school settings a tablet keeps offline, and the caller's own
password."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, validate

from server import throttle
from server.api import BEARER, RETRY_AFTER, current_actor
from server.db import locks_itself
from server.services import accounts, schools
from sync.fields import SafeString
from sync.schemas import ErrorSchema, MeSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The caller and their school.")


class PasswordChangeSchema(Schema):
    current_password = SafeString(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    new_password = SafeString(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


@blp.route("", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, MeSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="A district's viewer, who belongs to no school.")
def me() -> dict[str, Any]:
    actor = current_actor()
    user = actor.user
    return {
        "user": {"id": user.uuid, "role": user.role, "school_id": actor.school.uuid, "full_name": user.full_name},
        "device_id": actor.device.uuid,
        "school": schools.describe(actor.school),
    }


@locks_itself  # Argon2 twice (the current password, the new hash); the write lock comes after
@blp.route("/password", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(PasswordChangeSchema)
@blp.response(204, description="Changed; every other device of the user must log in again.")
@blp.alt_response(400, schema=ErrorSchema, description="password_too_short, or invalid_json.")
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="wrong_password: the current password is wrong.")
@blp.alt_response(
    429,
    schema=ErrorSchema,
    description="too_many_attempts: too many wrong passwords for this account (logins count too).",
    headers=RETRY_AFTER,
)
def change_password(body: dict[str, Any]) -> None:
    # Any user may change their own password, a district's viewer too: g.actor, not current_actor().
    user, device = g.actor.user, g.actor.device
    with throttle.password_check(user.username):
        accounts.change_password(user.id, device.id, body["current_password"], body["new_password"])
