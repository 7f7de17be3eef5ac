"""``/api/v1/sync``: push mutations, pull changes (``sync/PROTOCOL.md``)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from server.api import BEARER, current_actor, require_role
from server.db import locks_itself
from server.services import sync
from sync.events import Role
from sync.schemas import (
    CursorAheadErrorSchema,
    ErrorSchema,
    PullQuerySchema,
    PullResponseSchema,
    PushRequestSchema,
    PushResponseSchema,
    SeqGapErrorSchema,
)

blp = Blueprint("sync", __name__, url_prefix="/api/v1/sync", description="The offline journal's sync protocol.")


@locks_itself  # the body is parsed and validated first; the push takes the write lock itself (sync.push)
@blp.route("/push", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(PushRequestSchema)
@blp.response(200, PushResponseSchema)
@blp.alt_response(400, schema=ErrorSchema, description="invalid_json: the body is not JSON.")
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(
    403, schema=ErrorSchema, description="Another device's id, or a role that may not record these events."
)
@blp.alt_response(409, schema=SeqGapErrorSchema, description="A gap in seq; the body carries last_seq.")
@blp.alt_response(413, schema=ErrorSchema, description="More than 200 mutations or 1 MiB.")
def push(body: dict[str, Any]) -> dict[str, Any]:
    return sync.push(current_actor(), body["device_id"], body["mutations"])


@blp.route("/pull", methods=["GET"])
@blp.doc(**BEARER)
@blp.arguments(PullQuerySchema, location="query")
@blp.response(200, PullResponseSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="A role that reads no journal.")
@blp.alt_response(
    409, schema=CursorAheadErrorSchema, description="The cursor is ahead of the server; the body carries its cursor."
)
def pull(query: dict[str, Any]) -> dict[str, Any]:
    actor = require_role(Role.PEDAGOGUE, Role.COMMISSION, Role.DIRECTOR)
    return sync.pull(actor, query["cursor"], query["limit"])
