"""Every error leaves as ``{error, message, fields}`` with a stable code; the PWA words the code.

Messages never echo what the client sent: letter contents must not travel back in an error, nor into a
log line that quotes one.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from sync.events import HTTP_ERROR_CODES, MAX_MUTATIONS_PER_PUSH
from sync.schemas import TooManyMutations

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}
        self.headers = headers or {}
        self.extra = extra


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Invalid(ApiError):
    """A body that fails its checks where no schema could say so up front (e.g. settings merged with the
    stored ones); answered like a schema error."""

    status = 422
    code = "validation_error"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"




def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    response = jsonify({"error": code, "message": message, "fields": fields or {}, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error: HTTPException) -> Response:
    """Word Werkzeug's and webargs' errors in our envelope. webargs puts field errors in ``data``."""
    status = error.code or 500
    code = HTTP_ERROR_CODES.get(status, "error")
    fields: dict[str, Any] = {}
    messages = (getattr(error, "data", None) or {}).get("messages")
    if messages == {"json": ["Invalid JSON body."]}:
        code = "invalid_json"
    elif isinstance(messages, dict):
        # One location (json or query) is the rule; its errors are the fields.
        only = messages[next(iter(messages))] if len(messages) == 1 else messages
        fields = only if isinstance(only, dict) else {"_schema": only}
    message = {
        "invalid_json": "The body is not valid JSON.",
        "validation_error": "Some fields are missing or not valid.",
    }.get(code, error.description or error.name)
    headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type", "content-length")}
    return error_response(status, code, message, fields, headers)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.fields, error.headers, **error.extra)

    @app.errorhandler(TooManyMutations)
    def _too_many(_error: TooManyMutations) -> Response:
        return error_response(413, "too_many_mutations", f"At most {MAX_MUTATIONS_PER_PUSH} mutations per push.")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return from_http_exception(error)
        # The type and place only: an exception's message may quote the data that caused it.
        log.error("unexpected %s", type(error).__name__, exc_info=app.debug or app.testing)
        return error_response(500, "internal_error", "Something went wrong on the server. Nothing was lost; try again.")
