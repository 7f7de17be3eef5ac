"""The golden vectors in ``sync/vectors`` hold for the Python implementation, case by case.

The same files drive the PWA's JavaScript tests, so they are plain JSON: dates as ISO text, UUIDs as
lower-case text, field errors as dotted paths (messages are not part of the contract).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from sync import rules, spec
from sync.chain import GENESIS, canonical_bytes, chain_hash
from sync.event_data import DATA_SCHEMAS, normalise
from sync.events import MAX_SAFE_INTEGER, EventType
from sync.schemas import MutationSchema

VECTORS = Path(__file__).resolve().parent.parent / "sync" / "vectors"
FILES = (
    "batch.json",
    "calendar.json",
    "chain.json",
    "evolve.json",
    "journal.json",
    "mutations.json",
    "school_year.json",
)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load(name: str) -> dict[str, Any]:
    # Strict JSON only: NaN or Infinity would mean nothing to the JavaScript side.
    document: dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    return document


def cases(name: str) -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in load(name)["cases"]]


def test_every_vector_file_is_replayed_here():
    """A new vector file cannot sit unreplayed: each one in the folder is listed in ``FILES``."""
    assert sorted(p.name for p in VECTORS.glob("*.json")) == sorted(FILES)


@pytest.mark.parametrize("name", FILES)
def test_vector_files_are_plain_json_with_unique_case_names(name):
    """Each file is ``{about, cases}``; case names are unique, so a failing case is named unambiguously."""
    document = load(name)
    assert set(document) == {"about", "cases"}
    names = [case["name"] for case in document["cases"]]
    assert len(names) == len(set(names))
    assert names


# --- batch ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("batch.json"))
def test_plan_batch(case):
    """A push splits into replays and contiguous new mutations, or is a seq gap naming ``last_seq``."""
    try:
        plan = rules.plan_batch(case["last_seq"], case["seqs"])
    except rules.SeqGap as gap:
        assert {"error": "seq_gap", "last_seq": gap.last_seq} == case["expected"]
    else:
        assert {"first_new": plan.first_new} == case["expected"]


# --- school year ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("school_year.json"))
def test_school_year(case):
    """The school year starts on 1 September."""
    assert rules.school_year(dt.date.fromisoformat(case["date"])) == case["school_year"]


# --- hash chain -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("chain.json"))
def test_chain(case):
    """Canonical bytes are exactly the vector's text in UTF-8, and each link hashes onto the one before."""
    prev = case["prev_hash"]
    for link in case["links"]:
        assert canonical_bytes(link["record"]) == link["canonical"].encode("utf-8")
        assert json.loads(link["canonical"]) == link["record"]
        prev_hash, prev = prev, chain_hash(prev, link["record"])
        assert prev == link["hash"], f"link after {prev_hash}"


def test_chain_vectors_include_a_chain_from_genesis():
    """At least one case chains three links from GENESIS, as a school's journal starts."""
    chains = [c for c in load("chain.json")["cases"] if c["prev_hash"] == GENESIS and len(c["links"]) >= 3]
    assert chains


# --- evolve -----------------------------------------------------------------------------------------------


def _event_type(name: str) -> EventType | str:
    # A name outside the closed list is passed as it is: the rules must refuse it, not crash.
    try:
        return EventType(name)
    except ValueError:
        return name


@pytest.mark.parametrize("case", cases("evolve.json"))
def test_evolve(case):
    """One event on a case gives the expected new state, refusal code or conflict with the current version."""
    today = dt.date.fromisoformat(case["today"]) if case["today"] is not None else None
    event_type = _event_type(case["event_type"])
    # The vectors' data must be what the wire schema hands the rules, or the case proves nothing.
    if event_type in DATA_SCHEMAS:
        assert normalise(DATA_SCHEMAS[event_type](), case["data"]) == case["data"]

    try:
        new_state = rules.evolve(
            case["state"], event_type, case["base_version"], case["data"], today, case.get("context")
        )
    except rules.Refusal as refusal:
        outcome: dict[str, Any] = {"refusal": refusal.code}
    except rules.Conflict as conflict:
        outcome = {"conflict": conflict.current_version}
    else:
        outcome = {"state": new_state}
    assert outcome == case["expected"]


def test_evolve_vectors_cover_every_refusal_code_of_the_spec():
    """Each refusal code of ``sync/spec.json`` (``sync/rules.py``'s, tests/test_spec.py) has at least one
    vector, so the JavaScript side sees it; and no vector expects a code outside the spec's list."""
    codes = set(spec.strings("refusals")) - set(spec.strings("journal_refusals"))
    covered = {c["expected"]["refusal"] for c in load("evolve.json")["cases"] if "refusal" in c["expected"]}
    assert codes
    assert codes == covered


# --- journal ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("journal.json"))
def test_journal(case):
    """What only the journal decides: a known id's resend, a receipt code's holder."""
    if case["decision"] == "same_mutation":
        same = rules.same_mutation(case["known"], case["incoming"])
        assert ({"status": "duplicate"} if same else {"status": "rejected", "refusal": "id_reused"}) == case["expected"]
    else:
        assert case["decision"] == "receipt_code_holder"
        holder = rules.receipt_code_holder(case["letters"], case["appeal_id"])
        outcome: dict[str, Any] = {"held_by": None}
        if holder is not None:
            outcome = {"status": "rejected", "refusal": "receipt_code_used", "held_by": holder}
        assert outcome == case["expected"]


def test_journal_vectors_cover_every_refusal_only_the_journal_gives():
    codes = set(spec.strings("journal_refusals"))
    covered = {c["expected"]["refusal"] for c in load("journal.json")["cases"] if "refusal" in c["expected"]}
    assert codes and codes == covered
    statuses = {c["expected"].get("status") for c in load("journal.json")["cases"]}
    assert "duplicate" in statuses, "a resend that is the same mutation must stay a duplicate"


def test_evolve_vectors_cover_conflicts_and_the_school_year_boundary():
    """The vectors keep a conflict and both sides of 1 September, the cases a port most easily gets wrong."""
    evolve_cases = load("evolve.json")["cases"]
    assert any("conflict" in c["expected"] for c in evolve_cases)
    received = {c["data"].get("changes", {}).get("received_on") for c in evolve_cases}
    assert {"2025-08-31", "2025-09-01"} <= received


# --- mutations --------------------------------------------------------------------------------------------


def error_paths(messages: Any, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict as dotted paths of the fields that carry errors."""
    if not isinstance(messages, dict):
        return [prefix]
    paths: list[str] = []
    for key, value in messages.items():
        paths += error_paths(value, f"{prefix}.{key}" if prefix else str(key))
    return sorted(paths)


def as_wire(loaded: dict[str, Any]) -> dict[str, Any]:
    """A loaded mutation as plain JSON again, the form the vectors state it in."""
    return {
        key: str(value) if isinstance(value, uuid.UUID) else value.value if isinstance(value, EventType) else value
        for key, value in loaded.items()
    }


@pytest.mark.parametrize("case", cases("mutations.json"))
def test_mutation_schema(case):
    """The wire schema accepts and normalises, or refuses naming exactly the fields at fault."""
    try:
        loaded = MutationSchema().load(case["mutation"])
    except ValidationError as exc:
        outcome: dict[str, Any] = {"errors": error_paths(exc.messages)}
    else:
        outcome = {"mutation": as_wire(loaded)}
        # Normalised data is the fixed point of its schema: loading it again changes nothing.
        assert as_wire(MutationSchema().load(outcome["mutation"])) == outcome["mutation"]
    assert outcome == case["expected"]


@pytest.mark.parametrize(
    ("messages", "paths"),
    [
        ({"seq": ["bad"]}, ["seq"]),
        (
            {"data": {"applicant": {"full_name": ["bad"]}, "summary": ["bad"]}},
            ["data.applicant.full_name", "data.summary"],
        ),
        ({"data": ["bad"]}, ["data"]),
    ],
)
def test_error_paths(messages, paths):
    """The helper that turns marshmallow's errors into the vectors' dotted paths."""
    assert error_paths(messages) == paths


@pytest.mark.parametrize(("seq", "accepted"), [(MAX_SAFE_INTEGER, True), (MAX_SAFE_INTEGER + 1, False)])
def test_seq_goes_as_far_as_javascript_counts_exactly(seq, accepted):
    """The boundary is computed, not written out: its digits would look like a phone number to a privacy scan."""
    mutation = {**load("mutations.json")["cases"][0]["mutation"], "seq": seq}
    try:
        MutationSchema().load(mutation)
    except ValidationError as exc:
        assert not accepted and "seq" in exc.messages
    else:
        assert accepted
    assert rules.plan_batch(MAX_SAFE_INTEGER - 1, [MAX_SAFE_INTEGER]).first_new == 0
