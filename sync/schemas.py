"""Wire schemas of the sync API (marshmallow 4). Unknown fields are refused everywhere (``RAISE``).

Mutation ``data`` is checked by the schema of its event type and normalised back to plain JSON
(ISO dates, lowercase UUIDs), so that the rules in ``sync.rules`` work on the same shapes the wire carries.
"""

from __future__ import annotations

import itertools
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from sync.events import (
    APPLICANT_ROLES,
    CATEGORIES,
    DEFAULT_PULL_LIMIT,
    MAX_MUTATIONS_PER_PUSH,
    MAX_PULL_LIMIT,
    MAX_SAFE_INTEGER,
    RECEIPT_ALPHABET,
    RECEIPT_CODE_LENGTH,
    EventType,
    Role,
)


class TooManyMutations(Exception):
    """A push carries more mutations than one request may; answered 413, not 422."""


class SafeString(fields.String):
    """A string that every database can store: no NUL character and no lone surrogate."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error_messages.setdefault("unsafe", "Contains characters that cannot be stored.")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("unsafe")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise self.make_error("unsafe") from exc
        return text


def _text(max_length: int, **kwargs: Any) -> SafeString:
    return SafeString(validate=validate.Length(max=max_length), **kwargs)


def _strict_bool(**kwargs: Any) -> fields.Boolean:
    # The wire is JSON: true and false only, not "yes" or 1.
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


def _int(minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


IDENTITY_FIELDS = ("full_name", "address", "phone")


class ApplicantSchema(Schema):
    anonymous = _strict_bool(required=True)
    full_name = _text(200, allow_none=True, load_default=None)
    age = _int(0, 120, allow_none=True, load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(APPLICANT_ROLES))
    grade = _text(20, allow_none=True, load_default=None)
    address = _text(500, allow_none=True, load_default=None)
    phone = _text(40, allow_none=True, load_default=None)

    @validates_schema
    def _identity_matches_anonymity(self, data: dict[str, Any], **_: Any) -> None:
        if data["anonymous"]:
            named = [f for f in IDENTITY_FIELDS if (data.get(f) or "").strip()]
            if named:
                raise ValidationError({f: ["An anonymous applicant has no name, address or phone."] for f in named})
        elif not (data.get("full_name") or "").strip():
            raise ValidationError({"full_name": ["A signed appeal needs the applicant's name."]})


class ApplicantChangesSchema(Schema):
    """Part of an applicant, for corrections; the merged result is checked as a whole."""

    anonymous = _strict_bool()
    full_name = _text(200, allow_none=True)
    age = _int(0, 120, allow_none=True)
    role = fields.String(validate=validate.OneOf(APPLICANT_ROLES))
    grade = _text(20, allow_none=True)
    address = _text(500, allow_none=True)
    phone = _text(40, allow_none=True)


RECEIPT_CODE = validate.Regexp(
    rf"^[{RECEIPT_ALPHABET}]{{{RECEIPT_CODE_LENGTH}}}$",
    error=f"{RECEIPT_CODE_LENGTH} characters from {RECEIPT_ALPHABET}.",
)


class RegisteredDataSchema(Schema):
    """``appeal.registered``: every column of the paper journal, plus category and urgency."""

    received_on = fields.Date(required=True)
    opening_id = fields.UUID(allow_none=True, load_default=None)
    applicant = fields.Nested(ApplicantSchema, required=True)
    summary = SafeString(required=True, validate=validate.Length(min=1, max=2000))
    text = _text(20000, allow_none=True, load_default=None)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    urgent = _strict_bool(load_default=False)
    receipt_code = SafeString(allow_none=True, load_default=None, validate=RECEIPT_CODE)


class RegistrationChangesSchema(Schema):
    received_on = fields.Date()
    opening_id = fields.UUID(allow_none=True)
    applicant = fields.Nested(ApplicantChangesSchema)
    summary = SafeString(validate=validate.Length(min=1, max=2000))
    text = _text(20000, allow_none=True)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    urgent = _strict_bool()
    receipt_code = SafeString(allow_none=True, validate=RECEIPT_CODE)


class AmendedDataSchema(Schema):
    """``appeal.amended``: corrections never overwrite history; each says why."""

    changes = fields.Nested(RegistrationChangesSchema, required=True)
    reason = SafeString(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _changes_not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data["changes"]:
            raise ValidationError({"changes": ["A correction changes at least one field."]})


DATA_SCHEMAS: dict[EventType, type[Schema]] = {
    EventType.APPEAL_REGISTERED: RegisteredDataSchema,
    EventType.APPEAL_AMENDED: AmendedDataSchema,
}

# Events that change an existing appeal and so must name the version they were made against.
VERSIONED = frozenset({EventType.APPEAL_AMENDED})


def normalise(schema: Schema, raw: Any) -> dict[str, Any]:
    """Validate ``raw`` and return it as plain JSON again (ISO dates, lowercase UUIDs)."""
    result: dict[str, Any] = schema.dump(schema.load(raw))
    return result


class MutationSchema(Schema):
    seq = _int(1, MAX_SAFE_INTEGER, required=True)
    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in EventType]))
    appeal_id = fields.UUID(required=True)
    base_version = _int(0, MAX_SAFE_INTEGER, allow_none=True, load_default=None)
    data = fields.Dict(keys=fields.String(), required=True)

    @validates_schema
    def _version_fits_type(self, data: dict[str, Any], **_: Any) -> None:
        versioned = EventType(data["type"]) in VERSIONED
        if versioned and data["base_version"] is None:
            raise ValidationError({"base_version": ["This event needs the version it was made against."]})
        if not versioned and data["base_version"] is not None:
            raise ValidationError({"base_version": ["This event starts a case; it has no base version."]})

    @post_load
    def _load_data(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        event_type = EventType(data["type"])
        try:
            data["data"] = normalise(DATA_SCHEMAS[event_type](), data["data"])
        except ValidationError as exc:
            raise ValidationError({"data": exc.messages}) from exc
        data["type"] = event_type
        return data


class PushRequestSchema(Schema):
    device_id = fields.UUID(required=True)
    mutations = fields.List(fields.Nested(MutationSchema), required=True)

    @pre_load
    def _bounded(self, raw: Any, **_: Any) -> Any:
        mutations = raw.get("mutations") if isinstance(raw, dict) else None
        if isinstance(mutations, list) and len(mutations) > MAX_MUTATIONS_PER_PUSH:
            raise TooManyMutations(len(mutations))
        return raw

    @validates_schema
    def _seq_increasing(self, data: dict[str, Any], **_: Any) -> None:
        seqs = [m["seq"] for m in data["mutations"]]
        if any(b <= a for a, b in itertools.pairwise(seqs)):
            raise ValidationError({"mutations": ["Mutations are sent in strictly increasing seq order."]})


class PushResultSchema(Schema):
    seq = fields.Integer(required=True)
    id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["applied", "duplicate", "conflict", "rejected"]))
    error = fields.String(allow_none=True, required=True)
    serial_no = fields.Integer(allow_none=True, required=True)
    version = fields.Integer(allow_none=True, required=True)


class PushResponseSchema(Schema):
    last_seq = fields.Integer(required=True)
    results = fields.List(fields.Nested(PushResultSchema), required=True)


class PullQuerySchema(Schema):
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SAFE_INTEGER))
    limit = fields.Integer(load_default=DEFAULT_PULL_LIMIT, validate=validate.Range(min=1, max=MAX_PULL_LIMIT))


class ApplicantContentsSchema(Schema):
    full_name = fields.String(allow_none=True)
    age = fields.Integer(allow_none=True)
    grade = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class AppealContentsSchema(Schema):
    """The confidential part of an appeal: only for roles allowed to read letters."""

    applicant = fields.Nested(ApplicantContentsSchema, required=True)
    summary = fields.String(required=True)
    text = fields.String(allow_none=True)
    receipt_code = fields.String(allow_none=True)


class AppealChangeSchema(Schema):
    entity = fields.Constant("appeal", required=True)
    change_no = fields.Integer(required=True)
    id = fields.UUID(required=True)
    serial_no = fields.Integer(required=True)
    school_year = fields.Integer(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    received_on = fields.Date(required=True)
    opening_id = fields.UUID(allow_none=True, required=True)
    category = fields.String(required=True)
    urgent = fields.Boolean(required=True)
    anonymous = fields.Boolean(required=True)
    applicant_role = fields.String(required=True)
    registered_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    contents = fields.Nested(AppealContentsSchema)


class PullResponseSchema(Schema):
    changes = fields.List(fields.Nested(AppealChangeSchema), required=True)
    cursor = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)


class TokenRequestSchema(Schema):
    username = SafeString(required=True, validate=validate.Length(min=1, max=100))
    password = SafeString(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    device_name = SafeString(required=True, validate=validate.Length(min=1, max=100))
    device_id = fields.UUID(load_default=None, allow_none=True)


class TokenUserSchema(Schema):
    id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    school_id = fields.UUID(required=True)
    full_name = fields.String(required=True)


class TokenResponseSchema(Schema):
    token = fields.String(required=True)
    device_id = fields.UUID(required=True)
    expires_at = fields.DateTime(required=True)
    user = fields.Nested(TokenUserSchema, required=True)


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    field_errors = fields.Dict(required=True, data_key="fields")
