"""Wire schemas of the sync API (marshmallow 4). Unknown fields are refused everywhere (``RAISE``).

Mutation ``data`` is checked by the schema of its event type and normalised back to plain JSON
(ISO dates, lowercase UUIDs), so that the rules in ``sync.rules`` work on the same shapes the wire carries.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
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


class StrictBoolean(fields.Boolean):
    """JSON true or false only: not 1, 0, "yes" or "true"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class WireUUID(fields.UUID):
    """A UUID written the one way the wire writes it: 8-4-4-4-12 hexadecimal digits."""

    PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> uuid.UUID:
        if not (isinstance(value, str) and self.PATTERN.fullmatch(value)):
            raise self.make_error("invalid_uuid")
        result: uuid.UUID = super()._deserialize(value, attr, data, **kwargs)
        return result


class WireDate(fields.Date):
    """A calendar date as YYYY-MM-DD, nothing else that ISO 8601 would also allow."""

    PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not (isinstance(value, str) and self.PATTERN.fullmatch(value)):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        result: dt.date = super()._deserialize(value, attr, data, **kwargs)
        return result


NOT_BLANK = validate.Predicate("strip", error="Cannot be blank.")


def _text(max_length: int, **kwargs: Any) -> SafeString:
    return SafeString(validate=validate.Length(max=max_length), **kwargs)


def _strict_bool(**kwargs: Any) -> StrictBoolean:
    return StrictBoolean(**kwargs)


def _int(minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


IDENTITY_FIELDS = ("full_name", "address", "phone")


def _refuse_identity(applicant: dict[str, Any]) -> None:
    named = [f for f in IDENTITY_FIELDS if (applicant.get(f) or "").strip()]
    if named:
        raise ValidationError({f: ["An anonymous applicant has no name, address or phone."] for f in named})


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
            _refuse_identity(data)
        elif not (data.get("full_name") or "").strip():
            raise ValidationError({"full_name": ["A signed appeal needs the applicant's name."]})

    @post_load
    def _blank_identity_is_none(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data["anonymous"]:
            data.update(dict.fromkeys(IDENTITY_FIELDS))
        return data


class ApplicantChangesSchema(Schema):
    """Part of an applicant, for corrections; the merged result is checked as a whole."""

    anonymous = _strict_bool()
    full_name = _text(200, allow_none=True)
    age = _int(0, 120, allow_none=True)
    role = fields.String(validate=validate.OneOf(APPLICANT_ROLES))
    grade = _text(20, allow_none=True)
    address = _text(500, allow_none=True)
    phone = _text(40, allow_none=True)

    @validates_schema
    def _no_identity_when_made_anonymous(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("anonymous") is True:
            _refuse_identity(data)


RECEIPT_CODE = validate.Regexp(
    rf"^[{RECEIPT_ALPHABET}]{{{RECEIPT_CODE_LENGTH}}}\Z",
    error=f"{RECEIPT_CODE_LENGTH} characters from {RECEIPT_ALPHABET}.",
)


class RegisteredDataSchema(Schema):
    """``appeal.registered``: every column of the paper journal, plus category and urgency."""

    received_on = WireDate(required=True)
    opening_id = WireUUID(allow_none=True, load_default=None)
    applicant = fields.Nested(ApplicantSchema, required=True)
    summary = SafeString(required=True, validate=[validate.Length(min=1, max=2000), NOT_BLANK])
    text = _text(20000, allow_none=True, load_default=None)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    urgent = _strict_bool(load_default=False)
    receipt_code = SafeString(allow_none=True, load_default=None, validate=RECEIPT_CODE)


class RegistrationChangesSchema(Schema):
    received_on = WireDate()
    opening_id = WireUUID(allow_none=True)
    applicant = fields.Nested(ApplicantChangesSchema)
    summary = SafeString(validate=[validate.Length(min=1, max=2000), NOT_BLANK])
    text = _text(20000, allow_none=True)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    urgent = _strict_bool()
    receipt_code = SafeString(allow_none=True, validate=RECEIPT_CODE)


class AmendedDataSchema(Schema):
    """``appeal.amended``: corrections never overwrite history; each says why."""

    changes = fields.Nested(RegistrationChangesSchema, required=True)
    reason = SafeString(required=True, validate=[validate.Length(min=1, max=2000), NOT_BLANK])

    @validates_schema
    def _changes_not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data["changes"] or data["changes"].get("applicant") == {}:
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
    id = WireUUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in EventType]))
    appeal_id = WireUUID(required=True)
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
    device_id = WireUUID(required=True)
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


class TrustPhoneSchema(Schema):
    label = SafeString(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK])
    phone = SafeString(required=True, validate=[validate.Length(min=1, max=40), NOT_BLANK])


class SchoolSettingsSchema(Schema):
    """A school's settings that the tablets keep offline; missing keys take their defaults."""

    idle_lock_minutes = _int(1, 120, load_default=10)
    trust_phones = fields.List(fields.Nested(TrustPhoneSchema), load_default=list, validate=validate.Length(max=10))


class SchoolSchema(SchoolSettingsSchema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class MeSchema(Schema):
    user = fields.Nested(lambda: TokenUserSchema(), required=True)
    device_id = fields.UUID(required=True)
    school = fields.Nested(SchoolSchema, required=True)


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


class HistoryEntrySchema(Schema):
    """One event of an appeal's history; the reason of a correction only for readers of contents."""

    id = fields.UUID(required=True)
    type = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)
    by = fields.String(required=True)
    fields_changed = fields.List(fields.String(), required=True, data_key="fields")
    reason = fields.String(allow_none=True)


class AppealChangeSchema(Schema):
    entity = fields.Constant("appeal", required=True)
    change_no = fields.Integer(required=True)
    id = fields.UUID(required=True)
    serial_no = fields.Integer(required=True)
    school_year = fields.Integer(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    received_on = WireDate(required=True)
    opening_id = fields.UUID(allow_none=True, required=True)
    category = fields.String(required=True)
    urgent = fields.Boolean(required=True)
    anonymous = fields.Boolean(required=True)
    applicant_role = fields.String(required=True)
    registered_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    contents = fields.Nested(AppealContentsSchema)
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)


class PullResponseSchema(Schema):
    changes = fields.List(fields.Nested(AppealChangeSchema), required=True)
    cursor = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)


class TokenRequestSchema(Schema):
    username = SafeString(required=True, validate=validate.Length(min=1, max=100))
    password = SafeString(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    device_name = SafeString(required=True, validate=validate.Length(min=1, max=100))
    device_id = WireUUID(load_default=None, allow_none=True)


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
