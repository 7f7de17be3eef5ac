"""One slip, one letter: which letter of a school holds a receipt code.

The slip a child takes from the box carries a receipt code; two letters of a school must never hold the
same one, or an answer could go to the wrong child. The codes themselves are sealed with each letter's
contents, so each row keeps only the code's keyed digest (``appeals.receipt_digest``): HMAC-SHA256 under
the school's *index key* (``crypto.receipt_digest``). The index key is a data key like a letter's, wrapped
by the master key under a fixed owner derived from the school (``index_owner``), so a master-key rotation
re-wraps it with the rest; it is made at the school's first letter with a code.

A registration, or a correction setting ``receipt_code``, whose code another letter of the school holds
(not erased: an erased letter frees its code) is refused ``receipt_code_used`` naming that letter
(``HeldBy``); the decision is ``rules.receipt_code_holder``. The retention period clears the digest with the
contents. Nothing here logs or returns a code.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from server import crypto
from server.db import db
from server.models import Appeal, DataKey, School
from server.services import keys
from sync import rules

# The namespace of the index keys' owners: the owner of a school's index key is uuid5(this, school uuid).
# Fixed forever: migration 0011 writes it out too.
INDEX_NAMESPACE = uuid.UUID("5d0c9a3e-7f41-4b8e-9c2a-6e1f0b7d4a19")
CODE_USED = "receipt_code_used"


class HeldBy(rules.Refusal):
    """``receipt_code_used``: the code is another letter's; ``held_by`` names it for the push's result."""

    def __init__(self, held_by: dict[str, Any]) -> None:
        super().__init__(CODE_USED, "Another letter of this school holds this receipt code.")
        self.held_by = held_by


def index_owner(school: School) -> uuid.UUID:
    """The owner of the school's index key among the data keys (each owner is unique)."""
    return uuid.uuid5(INDEX_NAMESPACE, str(school.uuid))


def _index_key(school: School, create: bool) -> bytes | None:
    row = db.session.scalar(select(DataKey).where(DataKey.owner == index_owner(school)))
    if row is not None:
        return keys.open_data_key(row, school)
    if not create:
        return None  # no letter of the school was ever given a code: none holds this one
    _row, key = keys.create_data_key(school, index_owner(school))
    return key


def digest(school: School, code: str, create: bool = True) -> str | None:
    """The code's digest under the school's index key (made if missing and ``create``; else None)."""
    key = _index_key(school, create)
    return crypto.receipt_digest(key, code) if key is not None else None


def holder(school: School, code_digest: str | None, appeal_id: uuid.UUID | None) -> dict[str, Any] | None:
    """The letter other than ``appeal_id`` holding the code with this digest: ``{id, serial_no,
    school_year, received_on}``, or None."""
    if code_digest is None:
        return None
    query = (
        select(Appeal)
        .where(Appeal.school_id == school.id, Appeal.receipt_digest == code_digest)
        .order_by(Appeal.school_year, Appeal.serial_no)
    )
    letters = [
        {
            "id": str(appeal.uuid),
            "erased": appeal.erased_at is not None,
            "serial_no": appeal.serial_no,
            "school_year": appeal.school_year,
            "received_on": appeal.received_on.isoformat(),
        }
        for appeal in db.session.scalars(query)
    ]
    found = rules.receipt_code_holder(letters, str(appeal_id) if appeal_id is not None else "")
    if found is None:
        return None
    return {key: found[key] for key in ("id", "serial_no", "school_year", "received_on")}


def claim(school: School, appeal_id: uuid.UUID, code: str | None) -> str | None:
    """The digest a letter taking ``code`` keeps on its row (None without a code); raises ``HeldBy`` when
    another letter holds the code. Called before anything of the mutation is changed."""
    if code is None:
        return None
    code_digest = digest(school, code)
    held_by = holder(school, code_digest, appeal_id)
    if held_by is not None:
        raise HeldBy(held_by)
    return code_digest


def check(school: School, code: str) -> dict[str, Any] | None:
    """The letter holding ``code``, for a tablet about to register one (``POST /receipt-codes/check``).
    Reads only: a school without an index key yet has no letter holding any code."""
    return holder(school, digest(school, code, create=False), None)
