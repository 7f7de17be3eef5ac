"""``/api/v1/district/figures``: a district's schools in figures, for the district's viewers only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates_schema

from server.api import BEARER, current_district_actor
from server.api.reports import SchoolCountsSchema, TotalCountsSchema
from server.services import figures
from sync.fields import WireDate
from sync.rules import school_year
from sync.schemas import ErrorSchema

blp = Blueprint("district", __name__, url_prefix="/api/v1/district", description="A district's aggregate figures.")


class PeriodQuerySchema(Schema):
    since = WireDate(load_default=None, data_key="from", metadata={"description": "Default: 1 September."})
    until = WireDate(load_default=None, data_key="to", metadata={"description": "Default: today."})

    @validates_schema
    def _in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data["since"] and data["until"] and data["since"] > data["until"]:
            raise ValidationError({"to": ["The period ends before it begins."]})


class SchoolsAsCounted(fields.List[Any]):
    """The schools' counts, documented item by item by ``SchoolCountsSchema`` but sent as ``figures`` built
    them: plain numbers and ``"<3"`` already, so marshmallow's field-by-field dump of 1,000 schools (a sixth
    of a district's time) would change nothing but the id's type. tests/test_district.py checks that the
    answer equals that dump."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(SchoolCountsSchema), **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> list[Any] | None:
        if value is None:
            return None
        return [{**school, "id": str(school["id"])} for school in value]


FiguresOfSchoolsSchema = Schema.from_dict(
    {
        "from": fields.Date(required=True),
        "to": fields.Date(required=True),
        "schools": SchoolsAsCounted(required=True),
        "total": fields.Nested(TotalCountsSchema, required=True),
    },
    name="FiguresOfSchools",
)


class DistrictFiguresSchema(Schema):
    figures = fields.Nested(FiguresOfSchoolsSchema, required=True, metadata={"description": 'Counts 1 and 2: "<3".'})


@blp.route("/figures", methods=["GET"])
@blp.doc(**BEARER)
@blp.arguments(PeriodQuerySchema, location="query")
@blp.response(200, DistrictFiguresSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
@blp.alt_response(403, schema=ErrorSchema, description="Not a district's viewer.")
def district_figures(query: dict[str, Any]) -> dict[str, Any]:
    actor = current_district_actor()
    today = dt.datetime.now(dt.UTC).date()
    start = query["since"] or dt.date(school_year(today), 9, 1)
    end = query["until"] or today
    return {"figures": figures.district_figures(actor.district.id, start, end)}
