"""Wire schemas of the sync API's requests and answers (marshmallow 4). Unknown fields are refused everywhere
(``RAISE``).

A mutation's ``data`` is checked by its event type's schema (``sync.event_data``). Every bound (string lengths
in code points, number ranges, list lengths) and every closed list comes from ``sync/spec.json``
(``sync.spec.Limits``, ``sync.events``), which the PWA's validation twin reads too; ``tests/test_spec.py``
checks that no schema holds a bound of its own.
"""

from __future__ import annotations

import itertools
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from sync.event_data import PersonSchema, PresentMemberSchema, normalised
from sync.events import (
    DEFAULT_PULL_LIMIT,
    LANGUAGES,
    MAX_MUTATIONS_PER_PUSH,
    MAX_PULL_LIMIT,
    MAX_SAFE_INTEGER,
    VERSIONED,
    WEEKS,
    EventType,
    Role,
)
from sync.fields import (
    SafeString,
    WireDate,
    WireUUID,
    filled_text_field,
    int_field,
    list_field,
)
from sync.spec import Limits


class TooManyMutations(Exception):
    """A push carries more mutations than one request may; answered 413, not 422."""


class MutationSchema(Schema):
    seq = int_field((1, MAX_SAFE_INTEGER), required=True)
    id = WireUUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in EventType]))
    appeal_id = WireUUID(allow_none=True, load_default=None)
    base_version = int_field((0, MAX_SAFE_INTEGER), allow_none=True, load_default=None)
    data = fields.Dict(keys=fields.String(), required=True)

    @validates_schema
    def _appeal_fits_type(self, data: dict[str, Any], **_: Any) -> None:
        about_appeal = EventType(data["type"]).entity == "appeal"
        if about_appeal and data["appeal_id"] is None:
            raise ValidationError({"appeal_id": ["This event concerns an appeal; name it."]})
        if not about_appeal and data["appeal_id"] is not None:
            raise ValidationError({"appeal_id": ["This event is not about an appeal; its id is the event's own."]})

    @validates_schema
    def _version_fits_type(self, data: dict[str, Any], **_: Any) -> None:
        versioned = EventType(data["type"]) in VERSIONED
        if versioned and data["base_version"] is None:
            raise ValidationError({"base_version": ["This event needs the version it was made against."]})
        if not versioned and data["base_version"] is not None:
            raise ValidationError({"base_version": ["Only an event that changes an appeal has a base version."]})

    @post_load
    def _load_data(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        event_type = EventType(data["type"])
        try:
            data["data"] = normalised(event_type, data["data"])
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


class HeldBySchema(Schema):
    """The letter holding a receipt code (``receipt_code_used``; the check of a code)."""

    id = fields.UUID(required=True)
    serial_no = fields.Integer(required=True)
    school_year = fields.Integer(required=True)
    received_on = fields.String(required=True)


class PushResultSchema(Schema):
    seq = fields.Integer(required=True)
    id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["applied", "duplicate", "conflict", "rejected"]))
    error = fields.String(allow_none=True, required=True)
    serial_no = fields.Integer(allow_none=True, required=True)
    version = fields.Integer(allow_none=True, required=True)
    held_by = fields.Nested(HeldBySchema, allow_none=True, required=True)


class PushResponseSchema(Schema):
    last_seq = fields.Integer(required=True)
    results = fields.List(fields.Nested(PushResultSchema), required=True)


_TRUST_PHONE = Limits("trust_phone")


class TrustPhoneSchema(Schema):
    label = filled_text_field(_TRUST_PHONE.max_length("label"), required=True)
    phone = filled_text_field(_TRUST_PHONE.max_length("phone"), required=True)


def _each_once(values: list[Any]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Each value once.")


_SETTINGS = Limits("settings")


class SchoolSettingsSchema(Schema):
    """A school's settings that the tablets keep offline; missing keys take their defaults.

    The defaults are the regulations' own figures: answers in 5 working days (000), a three-person
    commission on Fridays (000), collection every week (000), an act at least every month (003).
    """

    idle_lock_minutes = int_field(_SETTINGS.bounds("idle_lock_minutes"), load_default=10)
    trust_phones = list_field(fields.Nested(TrustPhoneSchema), _SETTINGS.bounds("trust_phones"), load_default=list)
    week = fields.Integer(strict=True, load_default=5, validate=validate.OneOf(WEEKS))
    due_in_days = int_field(_SETTINGS.bounds("due_in_days"), load_default=5)
    days_off = list_field(WireDate(), _SETTINGS.bounds("days_off"), load_default=list)
    working_days = list_field(WireDate(), _SETTINGS.bounds("working_days"), load_default=list)
    commission_day = int_field(_SETTINGS.bounds("commission_day"), load_default=4)  # Monday is 0: Friday
    quorum = int_field(_SETTINGS.bounds("quorum"), load_default=3)
    commission_members = list_field(
        fields.Nested(PersonSchema), _SETTINGS.bounds("commission_members"), load_default=list
    )
    working_group = list_field(fields.Nested(PersonSchema), _SETTINGS.bounds("working_group"), load_default=list)
    collection_every_days = int_field(_SETTINGS.bounds("collection_every_days"), load_default=7)
    act_every_days = int_field(_SETTINGS.bounds("act_every_days"), load_default=31)
    # Years a case's contents are kept after it was closed (or not accepted); then ``purge-expired`` erases
    # them, keeping the numbered row and the figures.
    retention_years = int_field(_SETTINGS.bounds("retention_years"), load_default=5)
    # The languages the school's tablets offer, each once.
    languages = fields.List(
        fields.String(validate=validate.OneOf(LANGUAGES)),
        load_default=lambda: list(LANGUAGES),
        validate=[validate.Length(min=1, max=len(LANGUAGES)), _each_once],
    )


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
    case = fields.Dict(required=True, metadata={"description": "The case work (sync.rules.empty_case's shape)."})


class HistoryDeviceSchema(Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)


class HistoryChangeSchema(Schema):
    """One value a correction changed: its path ("summary", "applicant.full_name"), before and after."""

    field = fields.String(required=True)
    before = fields.Raw(allow_none=True, required=True)
    after = fields.Raw(allow_none=True, required=True)


class HistoryEntrySchema(Schema):
    """One event of an appeal's history. Who, on which device, against which version, and the event's
    readable facts go to every role; a correction's reason and values, and a case-work step's data, only to
    readers of contents (absent otherwise, and on an erased case)."""

    id = fields.UUID(required=True)
    type = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)
    by = fields.String(required=True)
    by_role = fields.String(required=True)
    device = fields.Nested(HistoryDeviceSchema, required=True)
    base_version = fields.Integer(allow_none=True, required=True)
    version = fields.Integer(required=True, metadata={"description": "The appeal's version after this event."})
    facts = fields.Dict(keys=fields.String(), required=True)
    fields_changed = fields.List(fields.String(), required=True, data_key="fields")
    reason = fields.String(allow_none=True)
    changes = fields.List(fields.Nested(HistoryChangeSchema))
    data = fields.Dict(keys=fields.String(), metadata={"description": "A case-work step's data, as pushed."})


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
    due_on = WireDate(allow_none=True, required=True)
    answered_on = WireDate(allow_none=True, required=True)
    closed_on = WireDate(allow_none=True, required=True)
    # An erased case (retention) carries no contents for anyone, and its history no correction reasons.
    erased = fields.Boolean(required=True)
    erased_at = fields.DateTime(allow_none=True, required=True)
    contents = fields.Nested(AppealContentsSchema)
    history = fields.List(fields.Nested(HistoryEntrySchema), required=True)


class OpeningChangeSchema(Schema):
    entity = fields.Constant("opening", required=True)
    change_no = fields.Integer(required=True)
    id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    opened_at = fields.String(required=True)
    members = fields.List(fields.Nested(PersonSchema), required=True)
    letters_count = fields.Integer(required=True)
    seal = fields.String(required=True)
    remarks = fields.String(allow_none=True, required=True)
    recorded_at = fields.DateTime(required=True)
    recorded_by = fields.String(required=True)
    acknowledged_at = fields.DateTime(allow_none=True, required=True)
    acknowledged_by = fields.String(allow_none=True, required=True)


class ReportChangeSchema(Schema):
    entity = fields.Constant("report", required=True)
    change_no = fields.Integer(required=True)
    id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    month = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)
    recorded_by = fields.String(required=True)


class MeetingChangeSchema(Schema):
    entity = fields.Constant("meeting", required=True)
    change_no = fields.Integer(required=True)
    id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    held_on = fields.String(required=True)
    members_present = fields.List(fields.Nested(PresentMemberSchema), required=True)
    recorded_at = fields.DateTime(required=True)
    recorded_by = fields.String(required=True)


CHANGE_SCHEMAS: dict[str, type[Schema]] = {
    "appeal": AppealChangeSchema,
    "opening": OpeningChangeSchema,
    "meeting": MeetingChangeSchema,
    "report": ReportChangeSchema,
}


# Made once, as _DATA_LOADERS: a schema built per change (and its nested ones with it) cost a pull of a
# few letters more than the rest of the page.
_CHANGE_DUMPERS: dict[str, Schema] = {entity: schema() for entity, schema in CHANGE_SCHEMAS.items()}


class ChangeField(fields.Field[dict[str, Any]]):
    """One changed record, dumped by the schema of its ``entity``: appeal, opening or meeting."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return _CHANGE_DUMPERS[value["entity"]].dump(value)


class CalendarSchema(Schema):
    """The school's working-day calendar (``sync.calendar.WorkCalendar.to_json``) and its answer period."""

    week = fields.Integer(required=True)
    holidays = fields.List(fields.String(), required=True)
    days_off = fields.List(fields.String(), required=True)
    working_days = fields.List(fields.String(), required=True)
    due_in_days = fields.Integer(required=True)


class ChainHeadSchema(Schema):
    head = fields.String(required=True)
    length = fields.Integer(required=True)


class PullResponseSchema(Schema):
    changes = fields.List(ChangeField(), required=True)
    cursor = fields.Integer(required=True)
    has_more = fields.Boolean(required=True)
    calendar = fields.Nested(CalendarSchema, required=True)
    chain = fields.Nested(ChainHeadSchema, required=True)


def _token_request_length(field: str) -> validate.Length:
    return validate.Length(min=1, max=Limits("token_request").max_length(field))


class TokenRequestSchema(Schema):
    username = SafeString(required=True, validate=_token_request_length("username"))
    password = SafeString(required=True, validate=_token_request_length("password"), load_only=True)
    device_name = SafeString(required=True, validate=_token_request_length("device_name"))
    device_id = WireUUID(load_default=None, allow_none=True)


class TokenUserSchema(Schema):
    id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in Role]))
    school_id = fields.UUID(required=True, allow_none=True, metadata={"description": "None for a district's viewer."})
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


class SeqGapErrorSchema(ErrorSchema):
    """409 ``seq_gap``: the error carries where the device resumes from, so it is a schema of its own."""

    last_seq = fields.Integer(required=True)


class CursorAheadErrorSchema(ErrorSchema):
    """409 ``cursor_ahead``: the server's own cursor, from which the device pulls again."""

    cursor = fields.Integer(required=True)
