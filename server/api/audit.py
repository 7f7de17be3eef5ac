"""``/api/v1/audit/…``: the audit trail. Every tablet sends the letters opened on it (views); the admin and
the director read what each pull delivered to whom, who opened which letter (by its number) on which device
and when, every administrative action, and which cases the retention period erased. Each list but the
erasures comes as JSON or, with ``format=csv``, as a CSV file of the same columns. The director's notices
of new accounts are in ``server/api/notices.py``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.api import BEARER, current_actor, require_role
from server.services import audit, audit_log, retention, views
from sync.events import Role
from sync.fields import WireDate, WireMoment, WireUUID
from sync.schemas import ErrorSchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit trail.")

AUDIT_ROLES = (Role.ADMIN, Role.DIRECTOR)
MAX_VIEWS = 500
NOT_AUDITORS = "Only the admin and the director read the audit."


class AuditQuerySchema(Schema):
    user = WireUUID(load_default=None, metadata={"description": "Only this user's entries."})
    since = WireDate(load_default=None, data_key="from", metadata={"description": "From this date (school's)."})
    until = WireDate(load_default=None, data_key="to", metadata={"description": "To this date, included."})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))

    @validates_schema
    def _period_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data["since"] and data["until"] and data["since"] > data["until"]:
            raise ValidationError({"to": ["The period ends before it begins."]})


class AuditPersonSchema(Schema):
    id = fields.UUID(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)


class AuditAccountSchema(AuditPersonSchema):
    username = fields.String(required=True)


class AuditDeviceSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class AuditLetterSchema(Schema):
    school_year = fields.Integer(required=True)
    serial_no = fields.Integer(required=True)


def _csv_answer(columns: Sequence[str]) -> dict[int, Any]:
    """With ?format=csv the same 200 is a CSV file: the same columns, a header row first."""
    return {200: {"content": {"text/csv": {"schema": {"type": "string", "description": ",".join(columns)}}}}}


def _cell(value: Any) -> Any:
    """A cell as text; one that a spreadsheet would run as a formula is quoted as text."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = value if isinstance(value, str) else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="ishenim-{name}.csv"'},
    )


def _answer(
    key: str, found: list[dict[str, Any]], query: dict[str, Any], columns: Sequence[str], row: Callable[..., Any]
) -> Any:
    """``{key: found}``, or with ``format=csv`` the file ``ishenim-<key>.csv``, a row per entry."""
    if query["format"] == "csv":
        return _csv(key, columns, (row(entry) for entry in found))
    return {key: found}


def _named(entry: dict[str, Any] | None, *keys: str) -> list[Any]:
    return [entry.get(key) if entry else None for key in keys]


# ---- Deliveries: what each pull carried ----------------------------------------------------------------

DELIVERY_COLUMNS = ("delivered_at", "user_id", "user_full_name", "user_role", "device_id", "device_name", "letters")


class DeliverySchema(Schema):
    delivered_at = fields.DateTime(required=True)
    user = fields.Nested(AuditPersonSchema, required=True)
    device = fields.Nested(AuditDeviceSchema, required=True)
    letters = fields.List(fields.Nested(AuditLetterSchema), required=True)


class DeliveriesSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema), required=True)


def _delivery_row(entry: dict[str, Any]) -> list[Any]:
    letters = " ".join(f"{letter['serial_no']}/{letter['school_year']}" for letter in entry["letters"])
    return [
        entry["delivered_at"],
        *_named(entry["user"], "id", "full_name", "role"),
        *_named(entry["device"], "id", "name"),
        letters,
    ]


@blp.route("/deliveries", methods=["GET"])
@blp.doc(**BEARER, responses=_csv_answer(DELIVERY_COLUMNS))
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, DeliveriesSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description=NOT_AUDITORS)
def deliveries(query: dict[str, Any]) -> Any:
    """Each pull that carried contents, newest first: to whom, on which device, when, which letters (the CSV
    names them "serial_no/school_year", space-separated)."""
    actor = require_role(*AUDIT_ROLES)
    found = audit.deliveries(actor.school, query["user"], query["since"], query["until"])
    return _answer("deliveries", found, query, DELIVERY_COLUMNS, _delivery_row)


# ---- Views: letters opened on the tablets ----------------------------------------------------------------

VIEW_COLUMNS = (
    "viewed_at",
    "recorded_at",
    "user_id",
    "user_full_name",
    "user_role",
    "device_id",
    "device_name",
    "school_year",
    "serial_no",
)


class NewViewSchema(Schema):
    id = WireUUID(required=True, metadata={"description": "The view's own id, made by the tablet."})
    appeal_id = WireUUID(required=True)
    viewed_at = WireMoment(required=True, metadata={"description": "When the letter was opened."})


class NewViewsSchema(Schema):
    views = fields.List(fields.Nested(NewViewSchema), required=True, validate=validate.Length(max=MAX_VIEWS))


class RefusedViewSchema(Schema):
    id = fields.UUID(required=True)
    error = fields.String(required=True, metadata={"description": "id_reused, appeal_not_found or date_in_future."})


class ViewsRecordedSchema(Schema):
    recorded = fields.List(fields.UUID(), required=True, metadata={"description": "Stored now or before."})
    refused = fields.List(fields.Nested(RefusedViewSchema), required=True)


class AuditViewSchema(AuditLetterSchema):
    viewed_at = fields.DateTime(required=True)
    recorded_at = fields.DateTime(required=True)
    user = fields.Nested(AuditPersonSchema, required=True)
    device = fields.Nested(AuditDeviceSchema, required=True)


class AuditViewsSchema(Schema):
    views = fields.List(fields.Nested(AuditViewSchema), required=True)


@blp.route("/views", methods=["POST"])
@blp.doc(**BEARER)
@blp.arguments(NewViewsSchema)
@blp.response(200, ViewsRecordedSchema)
@blp.alt_response(400, schema=ErrorSchema, description="invalid_json: the body is not JSON.")
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="A district's viewer, who belongs to no school.")
def record_views(body: dict[str, Any]) -> Any:
    """The letters opened on the caller's device, each recorded once by its id (sending it again is safe)."""
    return views.record(current_actor(), body["views"])


@blp.route("/views", methods=["GET"])
@blp.doc(**BEARER, responses=_csv_answer(VIEW_COLUMNS))
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditViewsSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description=NOT_AUDITORS)
def list_views(query: dict[str, Any]) -> Any:
    """Who opened which letter, on which device and when, newest first (the period: when it was opened)."""
    actor = require_role(*AUDIT_ROLES)
    found = views.entries(actor.school, query["user"], query["since"], query["until"])

    def row(entry: dict[str, Any]) -> list[Any]:
        return [
            entry["viewed_at"],
            entry["recorded_at"],
            *_named(entry["user"], "id", "full_name", "role"),
            *_named(entry["device"], "id", "name"),
            entry["school_year"],
            entry["serial_no"],
        ]

    return _answer("views", found, query, VIEW_COLUMNS, row)


# ---- Administrative actions ----------------------------------------------------------------------------

ACTION_COLUMNS = (
    "at",
    "by_id",
    "by_full_name",
    "by_role",
    "operator",
    "device_id",
    "device_name",
    "action",
    "target_user_id",
    "target_user_full_name",
    "target_user_role",
    "target_user_username",
    "target_device_id",
    "target_device_name",
    "changes",
)


class SettingChangeSchema(Schema):
    setting = fields.String(required=True)
    before = fields.Raw(allow_none=True, required=True)
    after = fields.Raw(allow_none=True, required=True)


class ActionTargetSchema(Schema):
    user = fields.Nested(AuditAccountSchema, allow_none=True, required=True)
    device = fields.Nested(AuditDeviceSchema, allow_none=True, required=True)


class ActionSchema(Schema):
    at = fields.DateTime(required=True)
    by = fields.Nested(AuditPersonSchema, allow_none=True, required=True, metadata={"description": "None: the CLI."})
    operator = fields.String(allow_none=True, required=True, metadata={"description": "'cli:<OS user>' or None."})
    device = fields.Nested(AuditDeviceSchema, allow_none=True, required=True)
    action = fields.String(required=True, validate=validate.OneOf(audit_log.ACTIONS))
    target = fields.Nested(ActionTargetSchema, required=True)
    changes = fields.List(fields.Nested(SettingChangeSchema), required=True, metadata={"description": "Settings only."})


class ActionsSchema(Schema):
    actions = fields.List(fields.Nested(ActionSchema), required=True)


def _action_row(entry: dict[str, Any]) -> list[Any]:
    target = entry["target"]
    return [
        entry["at"],
        *_named(entry["by"], "id", "full_name", "role"),
        entry["operator"],
        *_named(entry["device"], "id", "name"),
        entry["action"],
        *_named(target["user"], "id", "full_name", "role", "username"),
        *_named(target["device"], "id", "name"),
        json.dumps(entry["changes"], ensure_ascii=False, sort_keys=True) if entry["changes"] else None,
    ]


@blp.route("/admin-actions", methods=["GET"])
@blp.doc(**BEARER, responses=_csv_answer(ACTION_COLUMNS))
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, ActionsSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description=NOT_AUDITORS)
def admin_actions(query: dict[str, Any]) -> Any:
    """Every change to the school's accounts, devices and settings, newest first; ``user`` keeps what that
    user did or had done to their account."""
    actor = require_role(*AUDIT_ROLES)
    found = audit_log.actions(actor.school, query["user"], query["since"], query["until"])
    return _answer("actions", found, query, ACTION_COLUMNS, _action_row)


# ---- Erasures ---------------------------------------------------------------------------------------------


class ErasureEntrySchema(AuditLetterSchema):
    erased_at = fields.DateTime(required=True)
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
@blp.alt_response(403, schema=ErrorSchema, description=NOT_AUDITORS)
def erasures() -> Any:
    """The cases whose contents the retention period erased, newest first: numbers and dates, never content."""
    actor = require_role(*AUDIT_ROLES)
    return {"erasures": retention.entries(actor.school)}
