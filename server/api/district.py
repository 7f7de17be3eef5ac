"""``/api/v1/district/figures``: a district's schools in figures, for the district's viewers only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates_schema

from server.api import BEARER, current_district_actor
from server.api.reports import plain
from server.services import figures
from sync.rules import school_year
from sync.schemas import WireDate

blp = Blueprint("district", __name__, url_prefix="/api/v1/district", description="A district's aggregate figures.")


class PeriodQuerySchema(Schema):
    since = WireDate(load_default=None, data_key="from", metadata={"description": "Default: 1 September."})
    until = WireDate(load_default=None, data_key="to", metadata={"description": "Default: today."})

    @validates_schema
    def _in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data["since"] and data["until"] and data["since"] > data["until"]:
            raise ValidationError({"to": ["The period ends before it begins."]})


class DistrictFiguresSchema(Schema):
    figures = fields.Dict(required=True, metadata={"description": "{from, to, schools: [{id, name, …counts}], total}"})


@blp.route("/figures", methods=["GET"])
@blp.doc(**BEARER)
@blp.arguments(PeriodQuerySchema, location="query")
@blp.response(200, DistrictFiguresSchema)
def district_figures(query: dict[str, Any]) -> dict[str, Any]:
    actor = current_district_actor()
    today = dt.datetime.now(dt.UTC).date()
    start = query["since"] or dt.date(school_year(today), 9, 1)
    end = query["until"] or today
    shown: dict[str, Any] = plain(figures.district_figures(actor.district.id, start, end))
    return {"figures": shown}
