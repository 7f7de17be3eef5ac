"""Pure accept/refuse rules of the protocol: how a batch is ordered and how an event changes a case.

Everything here works on plain JSON-shaped data and raises the exceptions below; the server maps them
to results (``rejected``, ``conflict``) or HTTP errors. The golden vectors in ``sync/vectors`` pin it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from sync.events import AppealStatus, EventType
from sync.schemas import RegisteredDataSchema, normalise

# The school year starts on 1 September: a letter of 31 August belongs to the year before.
SCHOOL_YEAR_FIRST_MONTH = 9

# How far ahead of the server's date a device's "received on" may be (time zones, a clock a day fast).
RECEIVED_ON_TOLERANCE = dt.timedelta(days=1)
EARLIEST_RECEIVED_ON = dt.date(2000, 1, 1)


class Refusal(Exception):
    """The mutation can never apply; it is answered ``rejected`` with this code and still counts as done."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Conflict(Exception):
    """The mutation was made against an older version; answered ``conflict`` with the current one."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"current version is {current_version}")
        self.current_version = current_version


class SeqGap(Exception):
    """The first new mutation does not follow the device's ``last_seq``; answered 409, nothing applied."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(f"expected seq {last_seq + 1}")
        self.last_seq = last_seq


@dataclass(frozen=True)
class BatchPlan:
    """How a push splits: mutations before ``first_new`` were seen already (``seq <= last_seq``)."""

    first_new: int


def plan_batch(last_seq: int, seqs: list[int]) -> BatchPlan:
    """Split a batch (seqs strictly increasing) into replays and new mutations, which must be contiguous."""
    first_new = next((i for i, seq in enumerate(seqs) if seq > last_seq), len(seqs))
    expected = last_seq + 1
    for seq in seqs[first_new:]:
        if seq != expected:
            raise SeqGap(last_seq)
        expected += 1
    return BatchPlan(first_new=first_new)


def school_year(day: dt.date) -> int:
    """The calendar year in which the school year containing ``day`` began."""
    return day.year if day.month >= SCHOOL_YEAR_FIRST_MONTH else day.year - 1


def split_registration(registration: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a registration into queryable metadata and the confidential contents that are encrypted."""
    applicant = registration["applicant"]
    meta = {
        "received_on": registration["received_on"],
        "opening_id": registration["opening_id"],
        "category": registration["category"],
        "urgent": registration["urgent"],
        "anonymous": applicant["anonymous"],
        "applicant_role": applicant["role"],
    }
    contents = {
        "applicant": {k: applicant[k] for k in ("full_name", "age", "grade", "address", "phone")},
        "summary": registration["summary"],
        "text": registration["text"],
        "receipt_code": registration["receipt_code"],
    }
    return meta, contents


def join_registration(meta: dict[str, Any], contents: dict[str, Any]) -> dict[str, Any]:
    """The inverse of ``split_registration``."""
    return {
        "received_on": meta["received_on"],
        "opening_id": meta["opening_id"],
        "category": meta["category"],
        "urgent": meta["urgent"],
        "applicant": {"anonymous": meta["anonymous"], "role": meta["applicant_role"], **contents["applicant"]},
        "summary": contents["summary"],
        "text": contents["text"],
        "receipt_code": contents["receipt_code"],
    }


def _check_received_on(received_on: str, today: dt.date | None) -> None:
    if today is None:  # replaying history: the date was checked when the event was recorded
        return
    day = dt.date.fromisoformat(received_on)
    if day > today + RECEIVED_ON_TOLERANCE:
        raise Refusal("received_in_future", "A letter cannot be received after today.")
    if day < EARLIEST_RECEIVED_ON:
        raise Refusal("received_too_early", "The date received is before the journal began.")


def register(state: dict[str, Any] | None, data: dict[str, Any], today: dt.date | None) -> dict[str, Any]:
    """A new case from ``appeal.registered`` data (already normalised by its schema)."""
    if state is not None:
        raise Refusal("appeal_exists", "An appeal with this id is registered already.")
    _check_received_on(data["received_on"], today)
    return {"status": AppealStatus.REGISTERED.value, "version": 1, "registration": data}


def _merge(registration: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**registration, **{k: v for k, v in changes.items() if k != "applicant"}}
    merged["applicant"] = {**registration["applicant"], **changes.get("applicant", {})}
    if merged["applicant"]["anonymous"] and changes.get("applicant", {}).get("anonymous") is True:
        # Marking a letter anonymous removes the identity it carried, rather than refusing the correction.
        merged["applicant"].update(full_name=None, address=None, phone=None)
    return merged


def amend(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    """Apply ``appeal.amended``: a correction with a reason, made against ``base_version``."""
    if state is None:
        raise Refusal("appeal_not_found", "No such appeal in this school.")
    if base_version != state["version"]:
        raise Conflict(state["version"])
    merged = _merge(state["registration"], data["changes"])
    try:
        merged = normalise(RegisteredDataSchema(), merged)
    except ValidationError as exc:
        raise Refusal("invalid_amendment", f"The corrected appeal is not valid: {sorted(exc.messages)}") from exc
    _check_received_on(merged["received_on"], today)
    old_day = dt.date.fromisoformat(state["registration"]["received_on"])
    if school_year(dt.date.fromisoformat(merged["received_on"])) != school_year(old_day):
        raise Refusal("school_year_changed", "A correction cannot move a letter into another school year.")
    return {**state, "version": state["version"] + 1, "registration": merged}


def evolve(
    state: dict[str, Any] | None,
    event_type: EventType,
    base_version: int | None,
    data: dict[str, Any],
    today: dt.date | None,
) -> dict[str, Any]:
    """The case after one event, or ``Refusal``/``Conflict``.

    ``today`` is the school's local date, or None when replaying events that were accepted already.
    """
    try:
        event_type = EventType(event_type)  # a plain string from storage works as well as the enum
    except ValueError:
        raise Refusal("unknown_event", f"No rule for {event_type}.") from None
    if event_type is EventType.APPEAL_REGISTERED:
        return register(state, data, today)
    if event_type is EventType.APPEAL_AMENDED:
        assert base_version is not None  # the wire schema requires it for versioned events
        return amend(state, base_version, data, today)
    raise Refusal("unknown_event", f"No rule for {event_type}.")
