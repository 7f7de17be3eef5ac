"""The closed list of journal events and the vocabularies their data draws on.

Event names are past tense: an event records what happened on a device, not a request. A type that is
not in ``EventType`` is refused at the boundary; adding one is a protocol change (see PROTOCOL.md).
"""

from __future__ import annotations

from enum import StrEnum


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
        """What the event is about: ``appeal``, ``opening``, ``meeting`` or ``report`` (before the dot)."""
        return self.value.split(".", 1)[0]


class Role(StrEnum):
    PEDAGOGUE = "pedagogue"
    COMMISSION = "commission"
    DIRECTOR = "director"
    ADMIN = "admin"
    DISTRICT = "district"  # a district's viewer: aggregate figures of its schools, belongs to no school


# The roles of a school's staff (every role but the district's viewer).
SCHOOL_ROLES: tuple[Role, ...] = tuple(role for role in Role if role is not Role.DISTRICT)


# Who may record each event. The pedagogue keeps the journal (regulation 000 "Registration" 1) and writes up
# the commission's work; a commission member may record the commission's own decisions and their outcome.
# The director only acknowledges the act of an opening (regulation 003 §2.4); the admin runs accounts.
_CASE_WORK = frozenset({Role.PEDAGOGUE, Role.COMMISSION})
ROLES_ALLOWED: dict[EventType, frozenset[Role]] = {
    EventType.APPEAL_REGISTERED: frozenset({Role.PEDAGOGUE}),
    EventType.APPEAL_AMENDED: frozenset({Role.PEDAGOGUE}),
    EventType.APPEAL_NOT_ACCEPTED: frozenset({Role.PEDAGOGUE}),
    EventType.APPEAL_DECIDED: _CASE_WORK,
    EventType.APPEAL_REFERRED: _CASE_WORK,
    EventType.APPEAL_FEEDBACK_RECEIVED: _CASE_WORK,
    EventType.APPEAL_ANSWERED: _CASE_WORK,
    EventType.APPEAL_NOTICE_POSTED: _CASE_WORK,
    EventType.APPEAL_NOTICE_REMOVED: _CASE_WORK,
    EventType.APPEAL_MEASURE_RECORDED: _CASE_WORK,
    EventType.APPEAL_CLOSED: _CASE_WORK,
    EventType.OPENING_RECORDED: frozenset({Role.PEDAGOGUE}),
    EventType.OPENING_ACKNOWLEDGED: frozenset({Role.DIRECTOR}),
    EventType.MEETING_RECORDED: _CASE_WORK,
    # Regulation 003 §2.6: the social pedagogue prepares and presents the monthly information.
    EventType.REPORT_PRESENTED: frozenset({Role.PEDAGOGUE}),
}

# Roles whose pull carries letter contents. The director is added per school by a setting (off by default).
ROLES_READING_CONTENTS: frozenset[Role] = frozenset({Role.PEDAGOGUE, Role.COMMISSION})


class AppealStatus(StrEnum):
    REGISTERED = "registered"  # in the journal, no case work yet
    NOT_ACCEPTED = "not_accepted"  # regulation 003 §3.3: obscene words; numbered and counted, nothing more
    IN_PROGRESS = "in_progress"  # decided on, referred or acted upon, not yet answered
    ANSWERED = "answered"
    CLOSED = "closed"


# Regulation 003 §3.4: where threatening or insulting letters are passed.
AUTHORITIES = ("police", "juvenile_inspector", "social_protection", "health", "other")

# Regulation 000 "Registration" 4: signed letters are answered personally, anonymous ones on the stand.
ANSWER_WAYS = ("in_person", "stand")
# An answer proper, or the special notice "your letter was received; please come for a conversation".
ANSWER_KINDS = ("answer", "invitation")

# What was done for the child: regulation 000 names moral and material help.
MEASURE_KINDS = ("conversation", "psychological_help", "moral_help", "material_help", "explanatory_work", "other")

# The state of the box's lock or seal found at an opening.
SEAL_STATES = ("intact", "damaged", "missing")


APPLICANT_ROLES = ("student", "parent", "teacher", "other", "unknown")

CATEGORIES = (
    "psychological_help",
    "difficult_life_situation",
    "violence_or_cruelty",
    "bullying",
    "deviant_behavior",
    "rights_violation",
    "family_consultation",
    "social_services",
    "material_help",
    "learning_or_teacher",
    "suggestion",
    "other",
)

# Receipt codes use Crockford's base32 alphabet: no I, L, O or U to misread on a torn-off slip.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_CODE_LENGTH = 6

# Limits of one push request; both answer 413 when exceeded.
MAX_MUTATIONS_PER_PUSH = 200
MAX_BODY_BYTES = 1024 * 1024
MAX_PULL_LIMIT = 500
DEFAULT_PULL_LIMIT = 100

# Largest integer a JavaScript client can count to exactly; seq and cursors stay below it.
MAX_SAFE_INTEGER = 2**53 - 1
