"""The data of each event type, as the wire carries it (marshmallow 4): one schema per type in ``DATA_SCHEMAS``.

A mutation's ``data`` is checked by the schema of its event type and normalised back to plain JSON (ISO
dates, lowercase UUIDs, ``normalised``), so that the rules in ``sync.rules`` work on the same shapes the wire
carries. Every bound and closed list comes from ``sync/spec.json``; the cross-field checks (a signed letter
names its writer, an anonymous one does not; an answer proper has its text) are written here and in the
PWA's twin, ``pwa/js/validation.js``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from sync.events import (
    ANSWER_KINDS,
    ANSWER_WAYS,
    APPLICANT_ROLES,
    AUTHORITIES,
    CATEGORIES,
    MEASURE_KINDS,
    RECEIPT_ALPHABET,
    RECEIPT_CODE_LENGTH,
    SEAL_STATES,
    EventType,
)
from sync.fields import (
    SafeString,
    StrictBoolean,
    WireDate,
    WireMoment,
    WireUUID,
    choice_field,
    filled_text_field,
    int_field,
    list_field,
    text_field,
)
from sync.spec import Limits

IDENTITY_FIELDS = ("full_name", "address", "phone")
_APPLICANT = Limits("applicant")


def _refuse_identity(applicant: dict[str, Any]) -> None:
    named = [f for f in IDENTITY_FIELDS if (applicant.get(f) or "").strip()]
    if named:
        raise ValidationError({f: ["An anonymous applicant has no name, address or phone."] for f in named})


class ApplicantSchema(Schema):
    anonymous = StrictBoolean(required=True)
    full_name = text_field(_APPLICANT.max_length("full_name"), allow_none=True, load_default=None)
    age = int_field(_APPLICANT.bounds("age"), allow_none=True, load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(APPLICANT_ROLES))
    grade = text_field(_APPLICANT.max_length("grade"), allow_none=True, load_default=None)
    address = text_field(_APPLICANT.max_length("address"), allow_none=True, load_default=None)
    phone = text_field(_APPLICANT.max_length("phone"), allow_none=True, load_default=None)

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

    anonymous = StrictBoolean()
    full_name = text_field(_APPLICANT.max_length("full_name"), allow_none=True)
    age = int_field(_APPLICANT.bounds("age"), allow_none=True)
    role = fields.String(validate=validate.OneOf(APPLICANT_ROLES))
    grade = text_field(_APPLICANT.max_length("grade"), allow_none=True)
    address = text_field(_APPLICANT.max_length("address"), allow_none=True)
    phone = text_field(_APPLICANT.max_length("phone"), allow_none=True)

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
    summary = filled_text_field(_REGISTERED.max_length("summary"), required=True)
    text = text_field(_REGISTERED.max_length("text"), allow_none=True, load_default=None)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    urgent = StrictBoolean(load_default=False)
    receipt_code = SafeString(allow_none=True, load_default=None, validate=RECEIPT_CODE)


class RegistrationChangesSchema(Schema):
    received_on = WireDate()
    opening_id = WireUUID(allow_none=True)
    applicant = fields.Nested(ApplicantChangesSchema)
    summary = filled_text_field(_REGISTERED.max_length("summary"))
    text = text_field(_REGISTERED.max_length("text"), allow_none=True)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    urgent = StrictBoolean()
    receipt_code = SafeString(allow_none=True, validate=RECEIPT_CODE)


_AMENDED = Limits(EventType.APPEAL_AMENDED)


class AmendedDataSchema(Schema):
    """``appeal.amended``: corrections never overwrite history; each says why."""

    changes = fields.Nested(RegistrationChangesSchema, required=True)
    reason = filled_text_field(_AMENDED.max_length("reason"), required=True)

    @validates_schema
    def _changes_not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if not data["changes"] or data["changes"].get("applicant") == {}:
            raise ValidationError({"changes": ["A correction changes at least one field."]})


_PERSON = Limits("person")


class PersonSchema(Schema):
    """A member of staff as the papers name them: the name and the position."""

    name = filled_text_field(_PERSON.max_length("name"), required=True)
    position = filled_text_field(_PERSON.max_length("position"), required=True)


_NOT_ACCEPTED = Limits(EventType.APPEAL_NOT_ACCEPTED)


class NotAcceptedDataSchema(Schema):
    """``appeal.not_accepted`` (regulation 003 §3.3): the letter keeps its number, gets no case work."""

    decided_on = WireDate(required=True)
    reason = filled_text_field(_NOT_ACCEPTED.max_length("reason"), required=True)


_DECIDED = Limits(EventType.APPEAL_DECIDED)


class DecidedDataSchema(Schema):
    """``appeal.decided``: the commission's decision at a meeting and the competent official assigned."""

    meeting_id = WireUUID(required=True)
    decision = filled_text_field(_DECIDED.max_length("decision"), required=True)
    official = fields.Nested(PersonSchema, required=True)
    measures_planned = text_field(_DECIDED.max_length("measures_planned"), allow_none=True, load_default=None)


_REFERRED = Limits(EventType.APPEAL_REFERRED)


class ReferredDataSchema(Schema):
    """``appeal.referred`` (regulation 003 §3.4): passed to the competent authorities."""

    referred_on = WireDate(required=True)
    authority = choice_field(AUTHORITIES)
    outgoing_no = text_field(_REFERRED.max_length("outgoing_no"), allow_none=True, load_default=None)
    contact = text_field(_REFERRED.max_length("contact"), allow_none=True, load_default=None)
    note = text_field(_REFERRED.max_length("note"), allow_none=True, load_default=None)


_FEEDBACK_RECEIVED = Limits(EventType.APPEAL_FEEDBACK_RECEIVED)


class FeedbackReceivedDataSchema(Schema):
    """``appeal.feedback_received``: what the authority of referral number ``referral_no`` answered."""

    referral_no = int_field(_FEEDBACK_RECEIVED.bounds("referral_no"), required=True)
    received_on = WireDate(required=True)
    text = filled_text_field(_FEEDBACK_RECEIVED.max_length("text"), required=True)


_ANSWERED = Limits(EventType.APPEAL_ANSWERED)


class AnsweredDataSchema(Schema):
    """``appeal.answered``: in person for a signed letter, on the stand for an anonymous one."""

    answered_on = WireDate(required=True)
    way = choice_field(ANSWER_WAYS)
    kind = choice_field(ANSWER_KINDS)
    text = text_field(_ANSWERED.max_length("text"), allow_none=True, load_default=None)

    @validates_schema
    def _answer_has_text(self, data: dict[str, Any], **_: Any) -> None:
        # The invitation's words are fixed and printed in the reader's language; an answer proper has its own.
        if data["kind"] == "answer" and not (data.get("text") or "").strip():
            raise ValidationError({"text": ["An answer needs its text."]})


class NoticePostedDataSchema(Schema):
    answer_no = int_field(Limits(EventType.APPEAL_NOTICE_POSTED).bounds("answer_no"), required=True)
    posted_on = WireDate(required=True)


class NoticeRemovedDataSchema(Schema):
    answer_no = int_field(Limits(EventType.APPEAL_NOTICE_REMOVED).bounds("answer_no"), required=True)
    removed_on = WireDate(required=True)


_MEASURE_RECORDED = Limits(EventType.APPEAL_MEASURE_RECORDED)


class MeasureRecordedDataSchema(Schema):
    """``appeal.measure_recorded``: what was done, by whom and when, including moral or material help."""

    taken_on = WireDate(required=True)
    kind = choice_field(MEASURE_KINDS)
    description = filled_text_field(_MEASURE_RECORDED.max_length("description"), required=True)
    taken_by = filled_text_field(_MEASURE_RECORDED.max_length("taken_by"), required=True)


class ClosedDataSchema(Schema):
    closed_on = WireDate(required=True)
    outcome = text_field(Limits(EventType.APPEAL_CLOSED).max_length("outcome"), allow_none=True, load_default=None)


_OPENING_RECORDED = Limits(EventType.OPENING_RECORDED)


class OpeningRecordedDataSchema(Schema):
    """``opening.recorded``: the act of opening the box (regulation 003 §2.3). The event's id is the opening's."""

    opened_at = WireMoment(required=True)
    members = list_field(fields.Nested(PersonSchema), _OPENING_RECORDED.bounds("members"), required=True)
    letters_count = int_field(_OPENING_RECORDED.bounds("letters_count"), required=True)
    seal = choice_field(SEAL_STATES)
    remarks = text_field(_OPENING_RECORDED.max_length("remarks"), allow_none=True, load_default=None)


class OpeningAcknowledgedDataSchema(Schema):
    """``opening.acknowledged``: the director has received the act (regulation 003 §2.4)."""

    opening_id = WireUUID(required=True)


class PresentMemberSchema(PersonSchema):
    confirmed = StrictBoolean(required=True)


class MeetingRecordedDataSchema(Schema):
    """``meeting.recorded``: a commission meeting; the event's id is the meeting's, decisions refer to it."""

    held_on = WireDate(required=True)
    members_present = list_field(
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


def normalised(event_type: EventType, raw: Any) -> dict[str, Any]:
    """``raw`` checked as the data of ``event_type`` and returned as plain JSON again."""
    return normalise(_DATA_LOADERS[event_type], raw)
