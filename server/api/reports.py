"""``/api/v1/dashboard`` and ``/api/v1/reports/monthly``: the box's figures, never a name or a word of a letter."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates

from server.api import BEARER, require_role
from server.services import figures
from sync.events import APPLICANT_ROLES, CATEGORIES, MEASURE_KINDS, Role
from sync.schemas import ErrorSchema

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="The dashboard and the monthly information.")

# Who reads the figures: the director oversees, the commission works with them, the admin runs the school;
# the pedagogue prepares the monthly information (regulation 003 §2.6).
DASHBOARD_ROLES = (Role.DIRECTOR, Role.ADMIN, Role.COMMISSION)
REPORT_ROLES = (Role.DIRECTOR, Role.ADMIN, Role.COMMISSION, Role.PEDAGOGUE)
# A month as YYYY-MM from 2000-01. Written once for both the check and the OpenAPI document, in the regex
# dialect JSON Schema shares with Python (so no \Z: the check uses fullmatch instead).
MONTH = "(2[0-9]{3}|[3-9][0-9]{3})-(0[1-9]|1[0-2])"


class HiddenCount(fields.Field[int | str]):
    """A count as the report and the district show it: the number, or ``"<3"`` for 1 and 2."""

    def __init__(self, **kwargs: Any) -> None:
        shown = [{"type": "integer", "minimum": 0}, {"type": "string", "enum": [figures.FEWER_THAN_SMALL]}]
        super().__init__(metadata={"oneOf": shown}, **kwargs)


def _count(**kwargs: Any) -> fields.Field[Any]:
    return fields.Integer(**kwargs)


def _tally(name: str, keys: tuple[str, ...], count: Callable[..., fields.Field[Any]]) -> type[Schema]:
    """One count per known value (every category, every writer's role, every kind of measure)."""
    return Schema.from_dict({key: count(required=True) for key in keys}, name=name)


def _counts(prefix: str, count: Callable[..., fields.Field[Any]]) -> dict[str, fields.Field[Any]]:
    """The fields of ``figures.counts`` without its shares; built once per kind of count (the tallies are
    named schemas in the OpenAPI document, and one name must mean one schema)."""
    by_category = _tally(f"{prefix}ByCategory", CATEGORIES, count)
    by_role = _tally(f"{prefix}ByApplicantRole", APPLICANT_ROLES, count)
    measures = _tally(f"{prefix}Measures", MEASURE_KINDS, count)
    return {
        "received": count(required=True),
        "by_category": fields.Nested(by_category, required=True),
        "by_applicant_role": fields.Nested(by_role, required=True),
        "anonymous": count(required=True),
        "not_accepted": count(required=True),
        "referred": count(required=True),
        "answered": count(required=True),
        "answered_on_time": count(required=True),
        "closed": count(required=True),
        "measures": fields.Nested(measures, required=True),
    }


def _shares() -> dict[str, fields.Field[Any]]:
    return {
        "anonymous_share": fields.Float(required=True, allow_none=True),
        "answered_on_time_share": fields.Float(required=True, allow_none=True),
        "average_days_to_answer": fields.Float(required=True, allow_none=True),
    }


def _period() -> dict[str, fields.Field[Any]]:
    return {"from": fields.Date(required=True), "to": fields.Date(required=True)}


COUNTS = _counts("", _count)
HIDDEN_COUNTS = _counts("Hidden", HiddenCount)
PeriodCountsSchema = Schema.from_dict({**_period(), **COUNTS, **_shares()}, name="PeriodCounts")
MonthlyFiguresSchema = Schema.from_dict(
    {
        **_period(),
        "complete": fields.Boolean(required=True, metadata={"description": "The month is over."}),
        **HIDDEN_COUNTS,
        **_shares(),
        "openings": fields.Integer(required=True),
        "meetings": fields.Integer(required=True),
    },
    name="MonthlyFigures",
)
SchoolCountsSchema = Schema.from_dict(
    {"id": fields.UUID(required=True), "name": fields.String(required=True), **HIDDEN_COUNTS}, name="SchoolCounts"
)
TotalCountsSchema = Schema.from_dict(HIDDEN_COUNTS, name="TotalCounts")


class OverdueLetterSchema(Schema):
    school_year = fields.Integer(required=True)
    serial_no = fields.Integer(required=True)


class OverdueSchema(Schema):
    count = fields.Integer(required=True)
    letters = fields.List(fields.Nested(OverdueLetterSchema), required=True)


class OpeningSummarySchema(Schema):
    id = fields.UUID(required=True)
    opened_at = fields.String(required=True, metadata={"description": "As the act recorded it, with its offset."})
    letters_count = fields.Integer(required=True)
    acknowledged_at = fields.DateTime(required=True, allow_none=True)


class MeetingSummarySchema(Schema):
    id = fields.UUID(required=True)
    held_on = fields.Date(required=True)


class TrendMonthSchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    received = fields.Integer(required=True)
    answered = fields.Integer(required=True)


class DashboardSchema(Schema):
    today = fields.Date(required=True, metadata={"description": "The school's date."})
    month = fields.Nested(PeriodCountsSchema, required=True, metadata={"description": "This month's figures."})
    school_year = fields.Nested(PeriodCountsSchema, required=True, metadata={"description": "This school year's."})
    overdue = fields.Nested(OverdueSchema, required=True)
    last_opening = fields.Nested(OpeningSummarySchema, allow_none=True, required=True)
    last_meeting = fields.Nested(MeetingSummarySchema, allow_none=True, required=True)
    alerts = fields.List(fields.String(validate=validate.OneOf(["no_collection", "no_act"])), required=True)
    acts_awaiting = fields.List(fields.Nested(OpeningSummarySchema), required=True)
    trend = fields.List(fields.Nested(TrendMonthSchema), required=True)


class MonthQuerySchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM, from 2000-01.", "pattern": f"^{MONTH}$"})

    @validates("month")
    def _a_month(self, value: str, **_: Any) -> None:
        if not re.fullmatch(MONTH, value):
            raise ValidationError("A month as YYYY-MM, from 2000-01.")


class MonthlyReportSchema(Schema):
    month = fields.String(required=True)
    figures = fields.Nested(
        MonthlyFiguresSchema, required=True, metadata={"description": 'Counts 1 and 2 are given as "<3".'}
    )


@blp.route("/dashboard", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, DashboardSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="A role that does not read the dashboard.")
def dashboard() -> dict[str, Any]:
    actor = require_role(*DASHBOARD_ROLES)
    return figures.dashboard(actor.school)


@blp.route("/reports/monthly", methods=["GET"])
@blp.doc(**BEARER)
@blp.arguments(MonthQuerySchema, location="query")
@blp.response(200, MonthlyReportSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="A district's viewer.")
def monthly(query: dict[str, Any]) -> dict[str, Any]:
    actor = require_role(*REPORT_ROLES)
    year, month = (int(part) for part in query["month"].split("-"))
    report = figures.monthly_report(actor.school, dt.date(year, month, 1))
    return {"month": report.pop("month"), "figures": report}
