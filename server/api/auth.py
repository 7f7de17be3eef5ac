"""``/api/v1/auth``: logging in enrols a device and gives it a bearer token."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from server import throttle
from server.api import RETRY_AFTER
from server.db import locks_itself
from server.services import accounts
from sync.schemas import ErrorSchema, TokenRequestSchema, TokenResponseSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Logging in from a device.")


@locks_itself  # Argon2 takes a while; the write lock is taken only once the password is right
@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenResponseSchema)
@blp.alt_response(400, schema=ErrorSchema, description="invalid_json: the body is not JSON.")
@blp.alt_response(401, schema=ErrorSchema, description="Wrong credentials, disabled account or revoked device.")
@blp.alt_response(
    429,
    schema=ErrorSchema,
    description="too_many_attempts: too many failed logins for this username, or logins from this address.",
    headers=RETRY_AFTER,
)
def issue_token(body: dict[str, Any]) -> dict[str, Any]:
    with throttle.login_attempt(body["username"]):
        issued = accounts.issue_token(body["username"], body["password"], body["device_name"], body["device_id"])
    user = issued.device.user
    return {
        "token": issued.token,
        "device_id": issued.device.uuid,
        "expires_at": issued.device.expires_at,
        "user": {
            "id": user.uuid,
            "role": user.role,
            "school_id": user.school.uuid if user.school else None,  # None: a district's viewer
            "full_name": user.full_name,
        },
    }
