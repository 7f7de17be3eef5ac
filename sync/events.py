"""The closed list of journal events and the vocabularies their data draws on.

Event names are past tense: an event records what happened on a device, not a request. A type that is
not in ``EventType`` is refused at the boundary; adding one is a protocol change (see PROTOCOL.md).
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    APPEAL_REGISTERED = "appeal.registered"
    APPEAL_AMENDED = "appeal.amended"


class Role(StrEnum):
    PEDAGOGUE = "pedagogue"
    COMMISSION = "commission"
    DIRECTOR = "director"
    ADMIN = "admin"


# Who may record each event. The director oversees read-only; the admin runs accounts, not cases.
ROLES_ALLOWED: dict[EventType, frozenset[Role]] = {
    EventType.APPEAL_REGISTERED: frozenset({Role.PEDAGOGUE}),
    EventType.APPEAL_AMENDED: frozenset({Role.PEDAGOGUE}),
}

# Roles whose pull carries letter contents. The director is added per school by a setting (off by default).
ROLES_READING_CONTENTS: frozenset[Role] = frozenset({Role.PEDAGOGUE, Role.COMMISSION})


class AppealStatus(StrEnum):
    REGISTERED = "registered"


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
