"""Pure accept/refuse rules of the protocol: how a batch is ordered and how an event changes a case.

Everything here works on plain JSON-shaped data and raises the exceptions below; the server maps them
to results (``rejected``, ``conflict``) or HTTP errors. The golden vectors in ``sync/vectors`` pin it. The
constants it is written with (the school year's first month, the earliest and latest "received on") and
the closed list of its refusal codes are ``sync/spec.json``'s, which the PWA's twin reads too.

Two decisions at the end need what only the server's journal holds (every event, every letter's receipt
code): whether a known id is the same mutation sent again, and which letter holds a receipt code. The
server refuses with their codes (spec ``journal_refusals``); the vectors are ``journal.json``, replayed by
the twins in ``pwa/js/protocol.js`` too (the tablet keeps its outbox and its receipt check by them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError

from sync import spec
from sync.calendar import WorkCalendar
from sync.chain import canonical_bytes
from sync.event_data import RegisteredDataSchema, normalise
from sync.events import AppealStatus, EventType

# The school year starts on 1 September: a letter of 31 August belongs to the year before.
SCHOOL_YEAR_FIRST_MONTH = spec.integer("rules", "school_year_first_month")

# How far ahead of the server's date a device's "received on" may be (time zones, a clock a day fast).
RECEIVED_ON_TOLERANCE = dt.timedelta(days=spec.integer("rules", "received_on_tolerance_days"))
EARLIEST_RECEIVED_ON = dt.date.fromisoformat(spec.text("rules", "earliest_received_on"))


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


def _check_opening(registration: dict[str, Any], openings: dict[str, dict[str, Any]] | None) -> None:
    """A letter registered from an opening names an opening of this school, and was not taken out before it."""
    if openings is None or registration["opening_id"] is None:
        return
    opening = openings.get(registration["opening_id"])
    if opening is None:
        raise Refusal("opening_not_found", "The letter names an opening this school has not recorded.")
    if registration["received_on"] < opening["opened_at"][:10]:
        raise Refusal("received_before_opening", "A letter cannot be received before the opening it came out at.")


def register(
    state: dict[str, Any] | None,
    data: dict[str, Any],
    today: dt.date | None,
    openings: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A new case from ``appeal.registered`` data (already normalised by its schema)."""
    if state is not None:
        raise Refusal("appeal_exists", "An appeal with this id is registered already.")
    _check_received_on(data["received_on"], today)
    _check_opening(data, openings)
    return {"status": AppealStatus.REGISTERED.value, "version": 1, "registration": data, "case": empty_case()}


def merge_registration(registration: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A registration with a correction's ``changes`` laid over it (not yet checked as a whole)."""
    merged = {**registration, **{k: v for k, v in changes.items() if k != "applicant"}}
    merged["applicant"] = {**registration["applicant"], **changes.get("applicant", {})}
    if merged["applicant"]["anonymous"] and changes.get("applicant", {}).get("anonymous") is True:
        # Marking a letter anonymous removes the identity it carried, rather than refusing the correction.
        merged["applicant"].update(full_name=None, address=None, phone=None)
    return merged


def amend(
    state: dict[str, Any] | None,
    base_version: int,
    data: dict[str, Any],
    today: dt.date | None,
    openings: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Apply ``appeal.amended``: a correction with a reason, made against ``base_version``."""
    if state is None:
        raise Refusal("appeal_not_found", "No such appeal in this school.")
    if base_version != state["version"]:
        raise Conflict(state["version"])
    merged = merge_registration(state["registration"], data["changes"])
    try:
        merged = normalise(RegisteredDataSchema(), merged)
    except ValidationError as exc:
        raise Refusal("invalid_amendment", f"The corrected appeal is not valid: {sorted(exc.messages)}") from exc
    _check_received_on(merged["received_on"], today)
    old_day = dt.date.fromisoformat(state["registration"]["received_on"])
    if school_year(dt.date.fromisoformat(merged["received_on"])) != school_year(old_day):
        raise Refusal("school_year_changed", "A correction cannot move a letter into another school year.")
    _check_against_case_work(state, merged)
    _check_opening(merged, openings)
    return {**state, "version": state["version"] + 1, "registration": merged}


def case_dates(case: dict[str, Any]) -> list[str]:
    """The dates of the case work recorded so far (decisions carry their meeting's date, not their own)."""
    dates = [case["not_accepted"]["decided_on"]] if case["not_accepted"] else []
    dates += [r["referred_on"] for r in case["referrals"]] + [a["answered_on"] for a in case["answers"]]
    dates += [m["taken_on"] for m in case["measures"]]
    return dates + ([case["closed"]["closed_on"]] if case["closed"] else [])


def _check_against_case_work(state: dict[str, Any], merged: dict[str, Any]) -> None:
    """A correction keeps the case work true: no answer given the wrong way, no work dated before receipt."""
    case = state.get("case") or empty_case()
    if case["answers"] and merged["applicant"]["anonymous"] != state["registration"]["applicant"]["anonymous"]:
        raise Refusal("anonymity_after_answer", "An answered letter cannot change between signed and anonymous.")
    dates = case_dates(case)
    if dates and merged["received_on"] > min(dates):
        raise Refusal("received_after_case_work", "The date received cannot move after the case work on it.")


# ---- Case work: what happens to a letter after it is registered ------------------------------------------


def empty_case() -> dict[str, Any]:
    """The case work of a letter just registered: every list empty, nothing decided."""
    return {"not_accepted": None, "decisions": [], "referrals": [], "answers": [], "measures": [], "closed": None}


def _check_day(state: dict[str, Any], day_text: str, today: dt.date | None) -> None:
    """A date of case work lies between the day the letter was received and today."""
    if today is None:
        return
    day = dt.date.fromisoformat(day_text)
    if day < dt.date.fromisoformat(state["registration"]["received_on"]):
        raise Refusal("date_before_received", "Case work cannot be dated before the letter was received.")
    if day > today + RECEIVED_ON_TOLERANCE:
        raise Refusal("date_in_future", "Case work cannot be dated after today.")


def _open_case(state: dict[str, Any] | None, base_version: int, *, after_closing: bool = False) -> dict[str, Any]:
    """The state to work on, a copy; refuses a missing appeal, a stale version and a finished case."""
    if state is None:
        raise Refusal("appeal_not_found", "No such appeal in this school.")
    if base_version != state["version"]:
        raise Conflict(state["version"])
    if state["status"] == AppealStatus.NOT_ACCEPTED:
        raise Refusal("appeal_not_accepted", "A letter that was not accepted gets no case work.")
    if state["status"] == AppealStatus.CLOSED and not after_closing:
        raise Refusal("appeal_closed", "The case is closed.")
    case = state.get("case") or empty_case()
    copied = {key: [dict(item) for item in value] if isinstance(value, list) else value for key, value in case.items()}
    return {**state, "version": state["version"] + 1, "case": copied}


def _started(state: dict[str, Any]) -> dict[str, Any]:
    """Case work moves a registered letter into progress; a later status (answered) stays."""
    if state["status"] == AppealStatus.REGISTERED:
        state["status"] = AppealStatus.IN_PROGRESS.value
    return state


def _numbered(items: list[dict[str, Any]], number: int, code: str) -> dict[str, Any]:
    if not 1 <= number <= len(items):
        raise Refusal(code, "No such entry in this case.")
    return items[number - 1]


def not_accept(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    new = _open_case(state, base_version)
    if new["status"] != AppealStatus.REGISTERED:
        raise Refusal("case_work_started", "A letter already worked on cannot be refused any more.")
    _check_day(new, data["decided_on"], today)
    new["status"] = AppealStatus.NOT_ACCEPTED.value
    new["case"]["not_accepted"] = dict(data)
    return new


def decide(
    state: dict[str, Any] | None,
    base_version: int,
    data: dict[str, Any],
    today: dt.date | None,
    meetings: dict[str, dict[str, Any]] | None,
) -> dict[str, Any]:
    new = _open_case(state, base_version)
    if today is not None:
        meeting = (meetings or {}).get(data["meeting_id"])
        if meeting is None:
            raise Refusal("meeting_not_found", "The decision names a meeting this school has not recorded.")
        _check_day(new, meeting["held_on"], today)
    new["case"]["decisions"].append(dict(data))
    return _started(new)


def refer(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    new = _open_case(state, base_version)
    _check_day(new, data["referred_on"], today)
    new["case"]["referrals"].append({**data, "feedback": None})
    return _started(new)


def receive_feedback(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    # An authority often answers after the school has closed its part of the case.
    new = _open_case(state, base_version, after_closing=True)
    referral = _numbered(new["case"]["referrals"], data["referral_no"], "referral_not_found")
    if referral["feedback"] is not None:
        raise Refusal("feedback_recorded_already", "This referral's feedback is recorded already.")
    _check_day(new, data["received_on"], today)
    if data["received_on"] < referral["referred_on"]:
        raise Refusal("date_before_referral", "Feedback cannot come before the referral.")
    referral["feedback"] = {"received_on": data["received_on"], "text": data["text"]}
    return new


def answer(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    new = _open_case(state, base_version)
    anonymous = new["registration"]["applicant"]["anonymous"]
    if anonymous and data["way"] == "in_person":
        raise Refusal("anonymous_in_person", "An anonymous letter is answered on the stand.")
    if not anonymous and data["way"] == "stand":
        raise Refusal("signed_on_stand", "A signed letter is answered in person, not on the stand.")
    _check_day(new, data["answered_on"], today)
    new["case"]["answers"].append({**data, "posted_on": None, "removed_on": None})
    new["status"] = AppealStatus.ANSWERED.value
    return new


def post_notice(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    new = _open_case(state, base_version, after_closing=True)
    notice = _numbered(new["case"]["answers"], data["answer_no"], "answer_not_found")
    if notice["way"] != "stand":
        raise Refusal("not_on_stand", "Only an answer given on the stand is posted.")
    if notice["posted_on"] is not None:
        raise Refusal("notice_posted_already", "This notice is posted already.")
    _check_day(new, data["posted_on"], today)
    if data["posted_on"] < notice["answered_on"]:
        raise Refusal("date_before_answer", "A notice cannot be posted before the answer.")
    notice["posted_on"] = data["posted_on"]
    return new


def remove_notice(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    new = _open_case(state, base_version, after_closing=True)
    notice = _numbered(new["case"]["answers"], data["answer_no"], "answer_not_found")
    if notice["posted_on"] is None:
        raise Refusal("notice_not_posted", "The notice was never posted.")
    if notice["removed_on"] is not None:
        raise Refusal("notice_removed_already", "This notice is taken down already.")
    _check_day(new, data["removed_on"], today)
    if data["removed_on"] < notice["posted_on"]:
        raise Refusal("date_before_posting", "A notice cannot come down before it went up.")
    notice["removed_on"] = data["removed_on"]
    return new


def record_measure(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    new = _open_case(state, base_version)
    _check_day(new, data["taken_on"], today)
    new["case"]["measures"].append(dict(data))
    return _started(new)


def close(
    state: dict[str, Any] | None, base_version: int, data: dict[str, Any], today: dt.date | None
) -> dict[str, Any]:
    new = _open_case(state, base_version)
    if new["status"] != AppealStatus.ANSWERED:
        raise Refusal("not_answered", "A case is closed only after the letter was answered.")
    _check_day(new, data["closed_on"], today)
    new["status"] = AppealStatus.CLOSED.value
    new["case"]["closed"] = dict(data)
    return new


# ---- Openings and meetings: records of their own, whose id is the id of the event that recorded them -----


def _not_after_today(day: dt.date, today: dt.date | None) -> None:
    if today is not None and day > today + RECEIVED_ON_TOLERANCE:
        raise Refusal("date_in_future", "This cannot be dated after today.")


def record_opening(state: dict[str, Any] | None, data: dict[str, Any], today: dt.date | None) -> dict[str, Any]:
    if state is not None:
        raise Refusal("record_exists", "A record with this id exists already.")
    # The date as written on the act, in the offset the tablet gave: the school's own local date.
    _not_after_today(dt.date.fromisoformat(data["opened_at"][:10]), today)
    _refuse_repeated_members(data["members"])
    return {"version": 1, "opening": data, "acknowledged": False}


def acknowledge_opening(state: dict[str, Any] | None) -> dict[str, Any]:
    if state is None:
        raise Refusal("opening_not_found", "No such opening in this school.")
    if state["acknowledged"]:
        raise Refusal("acknowledged_already", "The director has acknowledged this act already.")
    return {**state, "version": state["version"] + 1, "acknowledged": True}


def _refuse_repeated_members(members: list[dict[str, Any]]) -> None:
    names = [" ".join(member["name"].split()).casefold() for member in members]
    if len(set(names)) != len(names):
        raise Refusal("member_listed_twice", "A member is listed twice.")


def record_meeting(
    state: dict[str, Any] | None, data: dict[str, Any], today: dt.date | None, quorum: int | None
) -> dict[str, Any]:
    if state is not None:
        raise Refusal("record_exists", "A record with this id exists already.")
    present = data["members_present"]
    _refuse_repeated_members(present)
    if today is not None:  # replaying history: a meeting that had its quorum then keeps it
        _not_after_today(dt.date.fromisoformat(data["held_on"]), today)
        if not all(member["confirmed"] for member in present):
            raise Refusal("member_not_confirmed", "Every member present confirms the minutes.")
        if quorum is not None and len(present) < quorum:
            raise Refusal("no_quorum", "Fewer members are present than the school's quorum.")
    return {"version": 1, "meeting": data}


def record_report(state: dict[str, Any] | None, data: dict[str, Any], today: dt.date | None) -> dict[str, Any]:
    """The monthly information presented: once per month, and not for a month still to come."""
    if state is not None:
        raise Refusal("record_exists", "A record with this id exists already.")
    if today is not None and data["month"] > today.strftime("%Y-%m"):
        raise Refusal("date_in_future", "This cannot be dated after today.")
    return {"version": 1, "report": data}


# ---- Deadlines -------------------------------------------------------------------------------------------


def due_on(status: str, received_on: dt.date, calendar: WorkCalendar, due_in: int) -> dt.date | None:
    """The day the answer is due; None for a letter not accepted, which has no deadline."""
    if status == AppealStatus.NOT_ACCEPTED:
        return None
    return calendar.due_on(received_on, due_in)


def answered_on(state: dict[str, Any]) -> dt.date | None:
    """The day of the first answer (an invitation to talk answers the letter too), or None."""
    answers = (state.get("case") or empty_case())["answers"]
    return dt.date.fromisoformat(answers[0]["answered_on"]) if answers else None


# ---- One event -------------------------------------------------------------------------------------------

CASE_RULES = {
    EventType.APPEAL_NOT_ACCEPTED: not_accept,
    EventType.APPEAL_REFERRED: refer,
    EventType.APPEAL_FEEDBACK_RECEIVED: receive_feedback,
    EventType.APPEAL_ANSWERED: answer,
    EventType.APPEAL_NOTICE_POSTED: post_notice,
    EventType.APPEAL_NOTICE_REMOVED: remove_notice,
    EventType.APPEAL_MEASURE_RECORDED: record_measure,
    EventType.APPEAL_CLOSED: close,
}


def evolve(
    state: dict[str, Any] | None,
    event_type: EventType,
    base_version: int | None,
    data: dict[str, Any],
    today: dt.date | None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record (an appeal, an opening or a meeting) after one event, or ``Refusal``/``Conflict``.

    ``today`` is the school's local date, or None when replaying events that were accepted already (then
    checks against today and the school's other records are skipped). ``context`` holds what a rule needs
    from outside the record: ``quorum`` (the school's setting), ``meetings`` and ``openings`` (the recorded
    ones by id: a meeting's data, an opening's data), ``presented`` (the months presented already).
    """
    context = context or {}
    try:
        event_type = EventType(event_type)  # a plain string from storage works as well as the enum
    except ValueError:
        raise Refusal("unknown_event", f"No rule for {event_type}.") from None
    # Replaying history (today None) looks nothing up: what was accepted then stands.
    openings = context.get("openings") if today is not None else None
    if event_type is EventType.APPEAL_REGISTERED:
        return register(state, data, today, openings)
    if event_type is EventType.OPENING_RECORDED:
        return record_opening(state, data, today)
    if event_type is EventType.OPENING_ACKNOWLEDGED:
        return acknowledge_opening(state)
    if event_type is EventType.MEETING_RECORDED:
        return record_meeting(state, data, today, context.get("quorum"))
    if event_type is EventType.REPORT_PRESENTED:
        if context.get("presented") and data["month"] in context["presented"]:
            raise Refusal("presented_already", "This month's information is marked presented already.")
        return record_report(state, data, today)
    assert base_version is not None  # the wire schema requires it for every event that changes an appeal
    if event_type is EventType.APPEAL_AMENDED:
        return amend(state, base_version, data, today, openings)
    if event_type is EventType.APPEAL_DECIDED:
        return decide(state, base_version, data, today, context.get("meetings"))
    return CASE_RULES[event_type](state, base_version, data, today)


# ---- What only the journal knows -------------------------------------------------------------------------


def same_mutation(known: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """One id, one mutation: whether a mutation under an id the journal holds is that very mutation sent
    again (``duplicate``), not another one under a reused id (``id_reused``). Each is ``{device, type,
    record, base_version, data}`` (``record``: the id of the record it is about; ``data`` normalised by the
    wire schema), compared as canonical JSON: the same device, and the same everything else."""
    return canonical_bytes(known) == canonical_bytes(incoming)


def receipt_code_holder(letters: list[dict[str, Any]], appeal_id: str) -> dict[str, Any] | None:
    """One slip, one letter: of the letters holding a receipt code (each ``{id, erased, …}``), the one that
    keeps ``appeal_id`` from taking it: another letter, not erased (an erased letter frees its code). The
    earliest listed when several do."""
    return next((letter for letter in letters if letter["id"] != appeal_id and not letter["erased"]), None)
