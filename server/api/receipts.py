"""``/api/v1/receipt-codes``: whether a receipt code is held by a letter of the caller's school.

A tablet asks before it saves a letter with a code (PROTOCOL.md §5.3, one slip, one letter). The code
travels in the body of a POST, never in a URL, and is never logged.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api import BEARER, require_role
from server.db import locks_itself
from server.services import receipts
from sync.event_data import RECEIPT_CODE
from sync.events import Role
from sync.fields import SafeString
from sync.schemas import ErrorSchema, HeldBySchema

blp = Blueprint(
    "receipts", __name__, url_prefix="/api/v1/receipt-codes", description="One slip, one letter: receipt codes."
)


class ReceiptCheckSchema(Schema):
    """The code as the registration's field takes it (``RegisteredDataSchema.receipt_code``)."""

    receipt_code = SafeString(required=True, load_only=True, validate=RECEIPT_CODE)


class ReceiptHolderSchema(Schema):
    held_by = fields.Nested(HeldBySchema, allow_none=True, required=True)


@locks_itself  # it only reads: it never takes the write lock
@blp.route("/check", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(ReceiptCheckSchema)
@blp.response(200, ReceiptHolderSchema)
@blp.alt_response(400, schema=ErrorSchema, description="invalid_json: the body is not JSON.")
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="role_not_allowed: only a pedagogue registers letters.")
@blp.alt_response(422, schema=ErrorSchema, description="validation_error: not a receipt code.")
def check(body: dict[str, Any]) -> dict[str, Any]:
    actor = require_role(Role.PEDAGOGUE)
    return {"held_by": receipts.check(actor.school, body["receipt_code"])}
