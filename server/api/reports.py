"""``/api/v1/dashboard`` and ``/api/v1/reports/monthly``: the box's figures, never a name or a word of a letter."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates

from server.api import BEARER, require_role
from server.services import figures
from sync.events import Role

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="The dashboard and the monthly information.")

# Who reads the figures: the director oversees, the commission works with them, the admin runs the school;
# the pedagogue prepares the monthly information (regulation 003 §2.6).
DASHBOARD_ROLES = (Role.DIRECTOR, Role.ADMIN, Role.COMMISSION)
REPORT_ROLES = (Role.DIRECTOR, Role.ADMIN, Role.COMMISSION, Role.PEDAGOGUE)


class DashboardSchema(Schema):
    today = fields.String(required=True, metadata={"description": "The school's date, YYYY-MM-DD."})
    month = fields.Dict(required=True, metadata={"description": "This month's figures (see figures.counts)."})
    school_year = fields.Dict(required=True, metadata={"description": "This school year's figures."})
    overdue = fields.Dict(required=True, metadata={"description": "{count, letters: [{school_year, serial_no}]}"})
    last_opening = fields.Dict(allow_none=True, required=True)
    last_meeting = fields.Dict(allow_none=True, required=True)
    alerts = fields.List(fields.String(), required=True)
    acts_awaiting = fields.List(fields.Dict(), required=True)
    trend = fields.List(fields.Dict(), required=True)


class MonthQuerySchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})

    @validates("month")
    def _a_month(self, value: str, **_: Any) -> None:
        if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", value) or value < "2000-01":
            raise ValidationError("A month as YYYY-MM, from 2000-01.")


class MonthlyReportSchema(Schema):
    month = fields.String(required=True)
    figures = fields.Dict(required=True, metadata={"description": 'Counts 1 and 2 are given as "<3".'})


@blp.route("/dashboard", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, DashboardSchema)
def dashboard() -> dict[str, Any]:
    actor = require_role(*DASHBOARD_ROLES)
    shown: dict[str, Any] = plain(figures.dashboard(actor.school))
    return shown


@blp.route("/reports/monthly", methods=["GET"])
@blp.doc(**BEARER)
@blp.arguments(MonthQuerySchema, location="query")
@blp.response(200, MonthlyReportSchema)
def monthly(query: dict[str, Any]) -> dict[str, Any]:
    actor = require_role(*REPORT_ROLES)
    year, month = (int(part) for part in query["month"].split("-"))
    report = plain(figures.monthly_report(actor.school, dt.date(year, month, 1)))
    return {"month": report.pop("month"), "figures": report}


def plain(value: Any) -> Any:
    """Dates, moments and ids as the wire writes them, inside the free-form dicts of the figures."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
