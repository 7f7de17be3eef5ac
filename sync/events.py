"""The closed list of journal events and the vocabularies their data draws on, from ``sync/spec.json``.

Event names are past tense: an event records what happened on a device, not a request. A type that is
not in ``EventType`` is refused at the boundary; adding one is a protocol change (see PROTOCOL.md), made in
``sync/spec.json``, which the PWA reads too. The enums are written here so that code can name their members;
importing this module refuses any enum that differs from the spec (``SpecError``). Everything else (who may
record what, who reads contents, the readable fields, vocabularies, request limits) is the spec's own.
"""

from __future__ import annotations

from enum import StrEnum

from sync import spec
from sync.spec import SpecError


class EventType(StrEnum):
    APPEAL_REGISTERED = "appeal.registered"
    APPEAL_AMENDED = "appeal.amended"
    APPEAL_NOT_ACCEPTED = "appeal.not_accepted"
    APPEAL_DECIDED = "appeal.decided"
    APPEAL_REFERRED = "appeal.referred"
    APPEAL_FEEDBACK_RECEIVED = "appeal.feedback_received"
    APPEAL_ANSWERED = "appeal.answered"
    APPEAL_NOTICE_POSTED = "appeal.notice_posted"
    APPEAL_NOTICE_REMOVED = "appeal.notice_removed"
    APPEAL_MEASURE_RECORDED = "appeal.measure_recorded"
    APPEAL_CLOSED = "appeal.closed"
    OPENING_RECORDED = "opening.recorded"
    OPENING_ACKNOWLEDGED = "opening.acknowledged"
    MEETING_RECORDED = "meeting.recorded"
    REPORT_PRESENTED = "report.presented"

    @property
    def entity(self) -> str:
        """What the event is about: ``appeal``, ``opening``, ``meeting`` or ``report``."""
        return spec.text("events", self.value, "entity")


class Role(StrEnum):
    PEDAGOGUE = "pedagogue"
    COMMISSION = "commission"
    DIRECTOR = "director"
    ADMIN = "admin"
    DISTRICT = "district"  # a district's viewer: aggregate figures of its schools, belongs to no school


class AppealStatus(StrEnum):
    REGISTERED = "registered"  # in the journal, no case work yet
    NOT_ACCEPTED = "not_accepted"  # regulation 003 §3.3: obscene words; numbered and counted, nothing more
    IN_PROGRESS = "in_progress"  # decided on, referred or acted upon, not yet answered
    ANSWERED = "answered"
    CLOSED = "closed"


def _agree(name: str, written: type[StrEnum], declared: tuple[str, ...]) -> None:
    """Refuse an enum written here that is not the spec's list, in the spec's order."""
    if [member.value for member in written] != list(declared):
        raise SpecError(f"{name} differs from spec.json: {[m.value for m in written]} != {list(declared)}")


_agree("EventType", EventType, tuple(spec.events()))
_agree("Role", Role, spec.strings("roles"))
_agree("AppealStatus", AppealStatus, spec.strings("statuses"))


def _roles(*path: str) -> frozenset[Role]:
    return frozenset(Role(role) for role in spec.strings(*path))


# The roles of a school's staff (every role but the district's viewer).
SCHOOL_ROLES: tuple[Role, ...] = tuple(Role(role) for role in spec.strings("school_roles"))

# Who may record each event. The pedagogue keeps the journal (regulation 000 "Registration" 1) and writes up
# the commission's work; a commission member may record the commission's own decisions and their outcome.
# The director only acknowledges the act of an opening (regulation 003 §2.4); the admin runs accounts. The
# social pedagogue prepares and presents the monthly information (regulation 003 §2.6).
ROLES_ALLOWED: dict[EventType, frozenset[Role]] = {
    event_type: _roles("events", event_type.value, "recorded_by") for event_type in EventType
}

# Roles whose pull carries letter contents. The director is added per school by a setting (off by default).
ROLES_READING_CONTENTS: frozenset[Role] = _roles("roles_reading_contents")

# Events that change an existing appeal and so must name the version they were made against.
VERSIONED: frozenset[EventType] = frozenset(
    event_type for event_type in EventType if spec.boolean("events", event_type.value, "versioned")
)

# The fields of each case event that stay readable in the journal: dates, choices from closed lists and
# numbers, which the deadlines and the monthly figures count. Everything else an event carries is sealed.
# The registration and its correction are split field by field instead, and have no entry.
PUBLIC_FIELDS: dict[EventType, tuple[str, ...]] = {
    event_type: spec.strings("events", event_type.value, "public")
    for event_type in EventType
    if spec.value("events", event_type.value, "public") is not None
}

# Regulation 003 §3.4: where threatening or insulting letters are passed.
AUTHORITIES = spec.strings("vocabularies", "authorities")
# Regulation 000 "Registration" 4: signed letters are answered personally, anonymous ones on the stand.
ANSWER_WAYS = spec.strings("vocabularies", "answer_ways")
# An answer proper, or the special notice "your letter was received; please come for a conversation".
ANSWER_KINDS = spec.strings("vocabularies", "answer_kinds")
# What was done for the child: regulation 000 names moral and material help.
MEASURE_KINDS = spec.strings("vocabularies", "measure_kinds")
# The state of the box's lock or seal found at an opening.
SEAL_STATES = spec.strings("vocabularies", "seal_states")
APPLICANT_ROLES = spec.strings("vocabularies", "applicant_roles")
CATEGORIES = spec.strings("vocabularies", "categories")
# The languages the tablets offer (Kyrgyz first); the papers print in Kyrgyz or Russian.
LANGUAGES = spec.strings("vocabularies", "languages")
# A school works Monday to Friday or Monday to Saturday.
WEEKS = spec.integers("vocabularies", "weeks")

# Receipt codes use Crockford's base32 alphabet: no I, L, O or U to misread on a torn-off slip.
RECEIPT_ALPHABET = spec.text("receipt_code", "alphabet")
RECEIPT_CODE_LENGTH = spec.integer("receipt_code", "length")

# Limits of one push request; both answer 413 when exceeded.
MAX_MUTATIONS_PER_PUSH = spec.integer("requests", "max_mutations_per_push")
MAX_BODY_BYTES = spec.integer("requests", "max_body_bytes")
MAX_PULL_LIMIT = spec.integer("requests", "max_pull_limit")
DEFAULT_PULL_LIMIT = spec.integer("requests", "default_pull_limit")

# Largest integer a JavaScript client can count to exactly; seq and cursors stay below it.
MAX_SAFE_INTEGER = 2 ** spec.integer("requests", "safe_integer_bits") - 1

# The error code of each HTTP status the server answers outside its own named errors.
HTTP_ERROR_CODES: dict[int, str] = {
    int(status): spec.text("http_errors", status) for status in spec.value("http_errors")
}
