"""Wire schemas of the sync API (marshmallow 4). Unknown fields are refused everywhere (``RAISE``).

Mutation ``data`` is checked by the schema of its event type and normalised back to plain JSON
(ISO dates, lowercase UUIDs), so that the rules in ``sync.rules`` work on the same shapes the wire carries.
Every bound (string lengths in code points, number ranges, list lengths) and every closed list comes from
``sync/spec.json`` (``sync.spec.Limits``, ``sync.events``), which the PWA's validation twin reads too;
``tests/test_spec.py`` checks that no schema holds a bound of its own.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from sync.events import (
    ANSWER_KINDS,
    ANSWER_WAYS,
    APPLICANT_ROLES,
    AUTHORITIES,
    CATEGORIES,
    DEFAULT_PULL_LIMIT,
    LANGUAGES,
    MAX_MUTATIONS_PER_PUSH,
    MAX_PULL_LIMIT,
    MAX_SAFE_INTEGER,
    MEASURE_KINDS,
    RECEIPT_ALPHABET,
    RECEIPT_CODE_LENGTH,
    SEAL_STATES,
    VERSIONED,
    WEEKS,
    EventType,
    Role,
)
from sync.spec import Limits


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


def _filled_text(max_length: int, **kwargs: Any) -> SafeString:
    """A string of at least one character that is not white space."""
    return SafeString(validate=[validate.Length(min=1, max=max_length), NOT_BLANK], **kwargs)


def _strict_bool(**kwargs: Any) -> StrictBoolean:
    return StrictBoolean(**kwargs)


def _int(bounds: tuple[int, int], **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=bounds[0], max=bounds[1]), **kwargs)


def _list(item: fields.Field[Any], bounds: tuple[int, int], **kwargs: Any) -> fields.List[Any]:
    return fields.List(item, validate=validate.Length(min=bounds[0], max=bounds[1]), **kwargs)


IDENTITY_FIELDS = ("full_name", "address", "phone")
_APPLICANT = Limits("applicant")


def _refuse_identity(applicant: dict[str, Any]) -> None:
    named = [f for f in IDENTITY_FIELDS if (applicant.get(f) or "").strip()]
    if named:
        raise ValidationError({f: ["An anonymous applicant has no name, address or phone."] for f in named})


class ApplicantSchema(Schema):
    anonymous = _strict_bool(required=True)
    full_name = _text(_APPLICANT.max_length("full_name"), allow_none=True, load_default=None)
    age = _int(_APPLICANT.bounds("age"), allow_none=True, load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(APPLICANT_ROLES))
    grade = _text(_APPLICANT.max_length("grade"), allow_none=True, load_default=None)
    address = _text(_APPLICANT.max_length("address"), allow_none=True, load_default=None)
    phone = _text(_APPLICANT.max_length("phone"), allow_none=True, load_default=None)

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
    full_name = _text(_APPLICANT.max_length("full_name"), allow_none=True)
    age = _int(_APPLICANT.bounds("age"), allow_none=True)
    role = fields.String(validate=validate.OneOf(APPLICANT_ROLES))
    grade = _text(_APPLICANT.max_length("grade"), allow_none=True)
    address = _text(_APPLICANT.max_length("address"), allow_none=True)
    phone = _text(_APPLICANT.max_length("phone"), allow_none=True)

    @validates_schema
    def _no_identity_when_made_anonymous(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("anonymous") is True:
            _refuse_identity(data)


_REGISTERED = Limits(EventType.APPEAL_REGISTERED)
RECEIPT_CODE = validate.Regexp(
    rf"^[{RECEIPT_ALPHABET}]{{{RECEIPT_CODE_LENGTH}}}\Z",
    error=f"{RECEIPT_CODE_LENGTH} characters from {RECEIPT_ALPHABET}.",
)


class RegisteredDataSchema(Schema):
    """``appeal.registered``: every column of the paper journal, plus category and urgency."""

    received_on = WireDate(required=True)
    opening_id = WireUUID(allow_none=True, load_default=None)
    applicant = fields.Nested(ApplicantSchema, required=True)
    summary = _filled_text(_REGISTERED.max_length("summary"), required=True)
    text = _text(_REGISTERED.max_length("text"), allow_none=True, load_default=None)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    urgent = _strict_bool(load_default=False)
    receipt_code = SafeString(allow_none=True, load_default=None, validate=RECEIPT_CODE)


class RegistrationChangesSchema(Schema):
    received_on = WireDate()
    opening_id = WireUUID(allow_none=True)
    applicant = fields.Nested(ApplicantChangesSchema)
    summary = _filled_text(_REGISTERED.max_length("summary"))
    text = _text(_REGISTERED.max_length("text"), allow_none=True)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    urgent = _strict_bool()
    receipt_code = SafeString(allow_none=True, validate=RECEIPT_CODE)


_AMENDED = Limits(EventType.APPEAL_AMENDED)


class AmendedDataSchema(Schema):
    """``appeal.amended``: corrections never overwrite history; each says why."""

    changes = fields.Nested(RegistrationChangesSchema, required=True)
    reason = _filled_text(_AMENDED.max_length("reason"), required=True)

    @validates_schema
    def _changes_not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data["changes"] or data["changes"].get("applicant") == {}:
            raise ValidationError({"changes": ["A correction changes at least one field."]})


def _one_of(values: tuple[str, ...]) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf(values))


class WireMoment(fields.AwareDateTime):
    """A moment in ISO 8601 with its offset (``2025-03-14T08:05:00+06:00``); a naive time is refused, and so is
    one that has no UTC equivalent (0001-01-01T00:00+06:00), since moments are stored in UTC."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)
        self.error_messages.setdefault("out_of_range", "Out of range.")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        moment: dt.datetime = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(dt.UTC)
        except OverflowError as exc:
            raise self.make_error("out_of_range") from exc
        return moment


_PERSON = Limits("person")


class PersonSchema(Schema):
    """A member of staff as the papers name them: the name and the position."""

    name = _filled_text(_PERSON.max_length("name"), required=True)
    position = _filled_text(_PERSON.max_length("position"), required=True)


_NOT_ACCEPTED = Limits(EventType.APPEAL_NOT_ACCEPTED)


class NotAcceptedDataSchema(Schema):
    """``appeal.not_accepted`` (regulation 003 §3.3): the letter keeps its number, gets no case work."""

    decided_on = WireDate(required=True)
    reason = _filled_text(_NOT_ACCEPTED.max_length("reason"), required=True)


_DECIDED = Limits(EventType.APPEAL_DECIDED)


class DecidedDataSchema(Schema):
    """``appeal.decided``: the commission's decision at a meeting and the competent official assigned."""

    meeting_id = WireUUID(required=True)
    decision = _filled_text(_DECIDED.max_length("decision"), required=True)
    official = fields.Nested(PersonSchema, required=True)
    measures_planned = _text(_DECIDED.max_length("measures_planned"), allow_none=True, load_default=None)


_REFERRED = Limits(EventType.APPEAL_REFERRED)


class ReferredDataSchema(Schema):
    """``appeal.referred`` (regulation 003 §3.4): passed to the competent authorities."""

    referred_on = WireDate(required=True)
    authority = _one_of(AUTHORITIES)
    outgoing_no = _text(_REFERRED.max_length("outgoing_no"), allow_none=True, load_default=None)
    contact = _text(_REFERRED.max_length("contact"), allow_none=True, load_default=None)
    note = _text(_REFERRED.max_length("note"), allow_none=True, load_default=None)


_FEEDBACK_RECEIVED = Limits(EventType.APPEAL_FEEDBACK_RECEIVED)


class FeedbackReceivedDataSchema(Schema):
    """``appeal.feedback_received``: what the authority of referral number ``referral_no`` answered."""

    referral_no = _int(_FEEDBACK_RECEIVED.bounds("referral_no"), required=True)
    received_on = WireDate(required=True)
    text = _filled_text(_FEEDBACK_RECEIVED.max_length("text"), required=True)


_ANSWERED = Limits(EventType.APPEAL_ANSWERED)


class AnsweredDataSchema(Schema):
    """``appeal.answered``: in person for a signed letter, on the stand for an anonymous one."""

    answered_on = WireDate(required=True)
    way = _one_of(ANSWER_WAYS)
    kind = _one_of(ANSWER_KINDS)
    text = _text(_ANSWERED.max_length("text"), allow_none=True, load_default=None)

    @validates_schema
    def _answer_has_text(self, data: dict[str, Any], **_: Any) -> None:
        # The invitation's words are fixed and printed in the reader's language; an answer proper has its own.
        if data["kind"] == "answer" and not (data.get("text") or "").strip():
            raise ValidationError({"text": ["An answer needs its text."]})


class NoticePostedDataSchema(Schema):
    answer_no = _int(Limits(EventType.APPEAL_NOTICE_POSTED).bounds("answer_no"), required=True)
    posted_on = WireDate(required=True)


class NoticeRemovedDataSchema(Schema):
    answer_no = _int(Limits(EventType.APPEAL_NOTICE_REMOVED).bounds("answer_no"), required=True)
    removed_on = WireDate(required=True)


_MEASURE_RECORDED = Limits(EventType.APPEAL_MEASURE_RECORDED)


class MeasureRecordedDataSchema(Schema):
    """``appeal.measure_recorded``: what was done, by whom and when, including moral or material help."""

    taken_on = WireDate(required=True)
    kind = _one_of(MEASURE_KINDS)
    description = _filled_text(_MEASURE_RECORDED.max_length("description"), required=True)
    taken_by = _filled_text(_MEASURE_RECORDED.max_length("taken_by"), required=True)


class ClosedDataSchema(Schema):
    closed_on = WireDate(required=True)
    outcome = _text(Limits(EventType.APPEAL_CLOSED).max_length("outcome"), allow_none=True, load_default=None)


_OPENING_RECORDED = Limits(EventType.OPENING_RECORDED)


class OpeningRecordedDataSchema(Schema):
    """``opening.recorded``: the act of opening the box (regulation 003 §2.3). The event's id is the opening's."""

    opened_at = WireMoment(required=True)
    members = _list(fields.Nested(PersonSchema), _OPENING_RECORDED.bounds("members"), required=True)
    letters_count = _int(_OPENING_RECORDED.bounds("letters_count"), required=True)
    seal = _one_of(SEAL_STATES)
    remarks = _text(_OPENING_RECORDED.max_length("remarks"), allow_none=True, load_default=None)


class OpeningAcknowledgedDataSchema(Schema):
    """``opening.acknowledged``: the director has received the act (regulation 003 §2.4)."""

    opening_id = WireUUID(required=True)


class PresentMemberSchema(PersonSchema):
    confirmed = _strict_bool(required=True)


class MeetingRecordedDataSchema(Schema):
    """``meeting.recorded``: a commission meeting; the event's id is the meeting's, decisions refer to it."""

    held_on = WireDate(required=True)
    members_present = _list(
        fields.Nested(PresentMemberSchema), Limits(EventType.MEETING_RECORDED).bounds("members_present"), required=True
    )


class ReportPresentedDataSchema(Schema):
    """``report.presented``: the monthly information for ``month`` was presented (regulation 003 §2.6)."""

    month = SafeString(required=True, validate=validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])\Z", error="YYYY-MM."))


DATA_SCHEMAS: dict[EventType, type[Schema]] = {
    EventType.APPEAL_REGISTERED: RegisteredDataSchema,
    EventType.APPEAL_AMENDED: AmendedDataSchema,
    EventType.APPEAL_NOT_ACCEPTED: NotAcceptedDataSchema,
    EventType.APPEAL_DECIDED: DecidedDataSchema,
    EventType.APPEAL_REFERRED: ReferredDataSchema,
    EventType.APPEAL_FEEDBACK_RECEIVED: FeedbackReceivedDataSchema,
    EventType.APPEAL_ANSWERED: AnsweredDataSchema,
    EventType.APPEAL_NOTICE_POSTED: NoticePostedDataSchema,
    EventType.APPEAL_NOTICE_REMOVED: NoticeRemovedDataSchema,
    EventType.APPEAL_MEASURE_RECORDED: MeasureRecordedDataSchema,
    EventType.APPEAL_CLOSED: ClosedDataSchema,
    EventType.OPENING_RECORDED: OpeningRecordedDataSchema,
    EventType.OPENING_ACKNOWLEDGED: OpeningAcknowledgedDataSchema,
    EventType.MEETING_RECORDED: MeetingRecordedDataSchema,
    EventType.REPORT_PRESENTED: ReportPresentedDataSchema,
}

# One instance of each, made once: building a schema copies its declared fields, which cost more than
# loading a small event's data. Loading and dumping leave an instance unchanged, so threads share them.
_DATA_LOADERS: dict[EventType, Schema] = {event_type: schema() for event_type, schema in DATA_SCHEMAS.items()}

def normalise(schema: Schema, raw: Any) -> dict[str, Any]:
    """Validate ``raw`` and return it as plain JSON again (ISO dates, lowercase UUIDs)."""
    result: dict[str, Any] = schema.dump(schema.load(raw))
    return result


class MutationSchema(Schema):
    seq = _int((1, MAX_SAFE_INTEGER), required=True)
    id = WireUUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in EventType]))
    appeal_id = WireUUID(allow_none=True, load_default=None)
    base_version = _int((0, MAX_SAFE_INTEGER), allow_none=True, load_default=None)
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
            data["data"] = normalise(_DATA_LOADERS[event_type], data["data"])
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


_TRUST_PHONE = Limits("trust_phone")


class TrustPhoneSchema(Schema):
    label = _filled_text(_TRUST_PHONE.max_length("label"), required=True)
    phone = _filled_text(_TRUST_PHONE.max_length("phone"), required=True)


def _each_once(values: list[Any]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Each value once.")


_SETTINGS = Limits("settings")


class SchoolSettingsSchema(Schema):
    """A school's settings that the tablets keep offline; missing keys take their defaults.

    The defaults are the regulations' own figures: answers in 5 working days (000), a three-person
    commission on Fridays (000), collection every week (000), an act at least every month (003).
    """

    idle_lock_minutes = _int(_SETTINGS.bounds("idle_lock_minutes"), load_default=10)
    trust_phones = _list(fields.Nested(TrustPhoneSchema), _SETTINGS.bounds("trust_phones"), load_default=list)
    week = fields.Integer(strict=True, load_default=5, validate=validate.OneOf(WEEKS))
    due_in_days = _int(_SETTINGS.bounds("due_in_days"), load_default=5)
    days_off = _list(WireDate(), _SETTINGS.bounds("days_off"), load_default=list)
    working_days = _list(WireDate(), _SETTINGS.bounds("working_days"), load_default=list)
    commission_day = _int(_SETTINGS.bounds("commission_day"), load_default=4)  # Monday is 0: Friday
    quorum = _int(_SETTINGS.bounds("quorum"), load_default=3)
    commission_members = _list(fields.Nested(PersonSchema), _SETTINGS.bounds("commission_members"), load_default=list)
    working_group = _list(fields.Nested(PersonSchema), _SETTINGS.bounds("working_group"), load_default=list)
    collection_every_days = _int(_SETTINGS.bounds("collection_every_days"), load_default=7)
    act_every_days = _int(_SETTINGS.bounds("act_every_days"), load_default=31)
    # Years a case's contents are kept after it was closed (or not accepted); then ``purge-expired`` erases
    # them, keeping the numbered row and the figures.
    retention_years = _int(_SETTINGS.bounds("retention_years"), load_default=5)
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
