"""``/api/v1/audit/notices``: the accounts that read letters (pedagogue, commission) the director has not
yet acknowledged; the admin and the director see them, only the director acknowledges one."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api import BEARER, require_role
from server.api.audit import AUDIT_ROLES, AuditAccountSchema
from server.services import notices
from sync.events import Role
from sync.schemas import ErrorSchema

blp = Blueprint("notices", __name__, url_prefix="/api/v1/audit/notices", description="New accounts that read letters.")


class CreatorSchema(Schema):
    full_name = fields.String(required=True)
    role = fields.String(required=True)


class NoticeSchema(Schema):
    user = fields.Nested(AuditAccountSchema, required=True)
    created_by = fields.Nested(CreatorSchema, allow_none=True, required=True, metadata={"description": "None: CLI."})
    created_at = fields.DateTime(required=True)


class NoticesSchema(Schema):
    notices = fields.List(fields.Nested(NoticeSchema), required=True)


@blp.route("", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, NoticesSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="Only the admin and the director read the notices.")
def list_notices() -> dict[str, Any]:
    """The accounts reading letters not yet acknowledged by the director, newest first."""
    actor = require_role(*AUDIT_ROLES)
    return {"notices": notices.pending(actor.school)}


@blp.route("/<uuid:user_id>/acknowledge", methods=["POST"])
@blp.doc(**BEARER)
@blp.response(200, NoticesSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="Only the director acknowledges.")
@blp.alt_response(404, schema=ErrorSchema, description="user_not_found: no such user in this school.")
@blp.alt_response(409, schema=ErrorSchema, description="own_account: a director's own, beside another director.")
def acknowledge(user_id: uuid.UUID) -> dict[str, Any]:
    """The director has seen that this account exists (an entry of the audit trail); the notices left. An
    account acknowledged already, or one whose role reads no letters, changes nothing."""
    actor = require_role(Role.DIRECTOR)
    return {"notices": notices.acknowledge(actor, user_id)}
