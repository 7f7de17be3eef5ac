"""``/api/v1/me``: who the token belongs to, and the school settings a tablet keeps offline."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from server.api import BEARER, current_actor
from server.services import schools
from sync.schemas import ErrorSchema, MeSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The caller and their school.")


@blp.route("", methods=["GET"])
@blp.doc(**BEARER)
@blp.response(200, MeSchema)
@blp.alt_response(401, schema=ErrorSchema, description="No valid token.")
def me() -> dict[str, Any]:
    actor = current_actor()
    user = actor.user
    return {
        "user": {"id": user.uuid, "role": user.role, "school_id": actor.school.uuid, "full_name": user.full_name},
        "device_id": actor.device.uuid,
        "school": schools.describe(actor.school),
    }
