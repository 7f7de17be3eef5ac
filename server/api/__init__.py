"""HTTP adapters: parse, authorise, call a service, render. No SQL, no crypto, no commits here.

Authentication is required on every ``/api/`` endpoint but the short allowlist below, checked in one
hook, so a new endpoint is private unless someone decides otherwise here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from server.errors import Forbidden, Unauthorized, from_http_exception
from server.services import accounts
from sync.events import Role
from sync.schemas import ErrorSchema

PUBLIC_ENDPOINTS = frozenset({"auth.issue_token", "api-docs.openapi_json"})


class IshenimApi(Api):  # type: ignore[misc]  # flask-smorest ships no type information
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        return from_http_exception(error)


def current_actor() -> accounts.Actor:
    """The school's user calling; a district's viewer may call only the district's endpoints (403)."""
    actor = g.actor
    if not isinstance(actor, accounts.Actor):
        raise Forbidden("A district's viewer reads only the district's figures.", code="role_not_allowed")
    return actor


def current_district_actor() -> accounts.DistrictActor:
    actor = g.actor
    if not isinstance(actor, accounts.DistrictActor):
        raise Forbidden(f"Role {actor.role.value} may not do this.", code="role_not_allowed")
    return actor


def require_role(*roles: Role) -> accounts.Actor:
    actor = current_actor()
    if actor.role not in roles:
        raise Forbidden(f"Role {actor.role.value} may not do this.", code="role_not_allowed")
    return actor


def _authenticate() -> None:
    if not request.path.startswith("/api/") or request.endpoint in PUBLIC_ENDPOINTS:
        return
    if request.routing_exception is not None:
        return  # 404 or 405: every route is in the public OpenAPI document anyway
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Log in first.", code="missing_token", headers={"WWW-Authenticate": "Bearer"})
    g.actor = accounts.authenticate(token.strip())


def init_app(app: Flask) -> None:
    from server.api import admin, audit, auth, district, me, receipts, reports, sync

    api = IshenimApi(app, spec_kwargs={"info": {"description": "Ishenim: the school Trust Box journal."}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(auth.blp)
    api.register_blueprint(me.blp)
    api.register_blueprint(sync.blp)
    api.register_blueprint(receipts.blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(admin.blp)
    api.register_blueprint(district.blp)
    app.before_request(_authenticate)


BEARER: dict[str, Any] = {"security": [{"bearer": []}]}
# The header of a 429 (server/throttle.py), for the OpenAPI document.
RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer", "minimum": 1}}
}
