"""``/api/v1/audit/reads``: who read which letter (by its number) and when, for the admin and the director."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.api import BEARER, require_role
from server.services import audit
from sync.events import Role
from sync.schemas import WireDate, WireUUID

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


@blp.route("/reads", methods=["GET"])
@blp.doc(**BEARER)
@blp.arguments(ReadsQuerySchema, location="query")
@blp.response(200, ReadsSchema)
def reads(query: dict[str, Any]) -> Any:
    actor = require_role(*AUDIT_ROLES)
    found = audit.entries(actor.school, query["user"], query["since"], query["until"])
    if query["format"] == "csv":
        return _csv(found)
    return {"reads": found}


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
