"""``/api/v1/audit/…`` for the admin and the director: who read which letter (by its number) and when, and
which cases the retention period erased (by number), when and by whom."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.api import BEARER, require_role
from server.services import audit, retention
from sync.events import Role
from sync.fields import WireDate, WireUUID
from sync.schemas import ErrorSchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit trail of reads.")

AUDIT_ROLES = (Role.ADMIN, Role.DIRECTOR)
CSV_COLUMNS = ("read_at", "user_full_name", "user_role", "school_year", "serial_no")


class ReadsQuerySchema(Schema):
    user = WireUUID(load_default=None, metadata={"description": "Only this user's reads."})
    since = WireDate(load_default=None, data_key="from", metadata={"description": "From this date (school's)."})
    until = WireDate(load_default=None, data_key="to", metadata={"description": "To this date, included."})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))

    @validates_schema
    def _period_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data["since"] and data["until"] and data["since"] > data["until"]:
            raise ValidationError({"to": ["The period ends before it begins."]})


class ReaderSchema(Schema):
    id = fields.UUID(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)


class ReadEntrySchema(Schema):
    read_at = fields.DateTime(required=True)
    user = fields.Nested(ReaderSchema, required=True)
    school_year = fields.Integer(required=True)
    serial_no = fields.Integer(required=True)


class ReadsSchema(Schema):
    reads = fields.List(fields.Nested(ReadEntrySchema), required=True)


# With ?format=csv the same 200 is a CSV file: the same columns, a header row first.
CSV_ANSWER = {200: {"content": {"text/csv": {"schema": {"type": "string", "description": ",".join(CSV_COLUMNS)}}}}}


@blp.route("/reads", methods=["GET"])
@blp.doc(**BEARER, responses=CSV_ANSWER)
@blp.arguments(ReadsQuerySchema, location="query")
@blp.response(200, ReadsSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="Only the admin and the director read the audit.")
def reads(query: dict[str, Any]) -> Any:
    actor = require_role(*AUDIT_ROLES)
    found = audit.entries(actor.school, query["user"], query["since"], query["until"])
    if query["format"] == "csv":
        return _csv(found)
    return {"reads": found}


class ErasureEntrySchema(Schema):
    erased_at = fields.DateTime(required=True)
    school_year = fields.Integer(required=True)
    serial_no = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={"description": "Always 'retention' for now."})
    operator = fields.String(required=True, metadata={"description": "Who ran it: 'cli:<OS user>'."})
    run = fields.UUID(required=True, metadata={"description": "The purge-expired run; its entries share it."})
    ended_on = WireDate(required=True, metadata={"description": "The day the case was closed or refused."})
    retention_years = fields.Integer(required=True)


class ErasuresSchema(Schema):
    erasures = fields.List(fields.Nested(ErasureEntrySchema), required=True)


@blp.route("/erasures", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, ErasuresSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="Only the admin and the director read the audit.")
def erasures() -> Any:
    """The cases whose contents the retention period erased, newest first: numbers and dates, never content."""
    actor = require_role(*AUDIT_ROLES)
    return {"erasures": retention.entries(actor.school)}


def _csv(found: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in found:
        # A name is staff's; still, a cell that a spreadsheet would run as a formula is quoted as text.
        name = entry["user"]["full_name"]
        safe = f"'{name}" if name[:1] in ("=", "+", "-", "@") else name
        writer.writerow(
            [entry["read_at"].isoformat(), safe, entry["user"]["role"], entry["school_year"], entry["serial_no"]]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="ishenim-reads.csv"'},
    )
