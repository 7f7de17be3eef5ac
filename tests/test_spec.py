"""``sync/spec.json`` is what the Python side enforces: the enums, the schemas' limits and choices, the rules'
constants and refusal codes, the server's error codes. The PWA's side is checked against the same file by
``tests/js/rules.test.mjs`` and ``tests/js/i18n.test.mjs``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields, validate

from sync import event_data, events, rules, schemas, spec
from sync.events import EventType, Role

SPEC = json.loads(spec.PATH.read_text(encoding="utf-8"))

# The nested schemas and the group of spec.json limits each takes its own from.
GROUPS: dict[type[Schema], str] = {
    event_data.ApplicantSchema: "applicant",
    event_data.ApplicantChangesSchema: "applicant",
    event_data.PersonSchema: "person",
    event_data.PresentMemberSchema: "person",
    event_data.RegistrationChangesSchema: EventType.APPEAL_REGISTERED,
    schemas.TrustPhoneSchema: "trust_phone",
    schemas.SchoolSettingsSchema: "settings",
    schemas.TokenRequestSchema: "token_request",
}


def _bound(validator: validate.Length | validate.Range) -> tuple[int, int]:
    return (validator.min or 0, validator.max)


def _walk(schema: type[Schema], group: str, limits: dict[str, dict[str, Any]], choices: dict[str, list[Any]]) -> None:
    """Every bound and closed list the schema's fields carry, under ``group.field``, nested schemas under theirs."""
    for name, field in schema().fields.items():
        item = field.inner if isinstance(field, fields.List) else field
        if isinstance(item, fields.Nested):
            nested = item.nested if isinstance(item.nested, type) else type(item.nested)
            _walk(nested, GROUPS[nested], limits, choices)
        for validator in field.validators + (item.validators if item is not field else []):
            found: Any = None
            if isinstance(validator, validate.Length) and isinstance(field, fields.List):
                found = list(_bound(validator))
            elif isinstance(validator, validate.Length):
                found = validator.max
            elif isinstance(validator, validate.Range):
                found = list(_bound(validator))
            elif isinstance(validator, validate.OneOf):
                choices[f"{group}.{name}"] = list(validator.choices)
            if found is not None:
                known = limits.setdefault(group, {}).setdefault(name, found)
                assert known == found, f"{group}.{name}: {known} and {found} in two schemas"


def test_the_enums_are_the_specs_in_its_order():
    """Code names the members of the enums written in Python; importing them checks them against the spec."""
    assert [t.value for t in EventType] == list(SPEC["events"])
    assert [r.value for r in Role] == SPEC["roles"]
    assert [s.value for s in events.AppealStatus] == SPEC["statuses"]
    with pytest.raises(spec.SpecError, match="Role differs"):
        events._agree("Role", Role, ("pedagogue", "commission"))


def test_who_records_reads_and_versions_what_is_the_specs():
    for event_type in EventType:
        block = SPEC["events"][event_type.value]
        assert sorted(events.ROLES_ALLOWED[event_type]) == sorted(block["recorded_by"])
        assert event_type.entity == block["entity"] == event_type.value.split(".")[0]
        # MutationSchema asks a base version of exactly the events that change an existing appeal.
        changes_an_appeal = event_type.entity == "appeal" and event_type is not EventType.APPEAL_REGISTERED
        assert (event_type in events.VERSIONED) == changes_an_appeal
    assert sorted(events.ROLES_READING_CONTENTS) == sorted(SPEC["roles_reading_contents"])
    assert [r.value for r in events.SCHOOL_ROLES] == [r.value for r in Role if r is not Role.DISTRICT]


def test_the_readable_fields_are_the_specs_and_fields_of_each_events_data():
    """The journal seals everything but these; a name that is not a field of the data would seal nothing."""
    assert set(events.PUBLIC_FIELDS) == set(EventType) - {EventType.APPEAL_REGISTERED, EventType.APPEAL_AMENDED}
    for event_type, public in events.PUBLIC_FIELDS.items():
        assert list(public) == SPEC["events"][event_type.value]["public"]
        assert set(public) <= set(event_data.DATA_SCHEMAS[event_type]().fields), event_type


def test_every_limit_of_the_wire_schemas_is_the_specs():
    """Each DataSchema's string lengths, number ranges and list lengths, and the settings' and the login's,
    are exactly the spec's: none is missing from it, none is left over in it."""
    limits: dict[str, dict[str, Any]] = {}
    choices: dict[str, list[Any]] = {}
    for event_type, schema in event_data.DATA_SCHEMAS.items():
        _walk(schema, event_type.value, limits, choices)
    for schema in (schemas.SchoolSettingsSchema, schemas.TokenRequestSchema):
        _walk(schema, GROUPS[schema], limits, choices)
    # The number of languages a school offers is bounded by the vocabulary itself, not by a limit of its own.
    assert limits["settings"].pop("languages") == [1, len(SPEC["vocabularies"]["languages"])]
    declared = {**SPEC["limits"], **{name: block["limits"] for name, block in SPEC["events"].items()}}
    assert {group: table for group, table in limits.items() if table} == {g: t for g, t in declared.items() if t}


def test_every_closed_list_of_the_wire_schemas_is_a_vocabulary_of_the_spec():
    limits: dict[str, dict[str, Any]] = {}
    choices: dict[str, list[Any]] = {}
    for event_type, schema in event_data.DATA_SCHEMAS.items():
        _walk(schema, event_type.value, limits, choices)
    _walk(schemas.SchoolSettingsSchema, "settings", limits, choices)
    vocabularies = SPEC["vocabularies"]
    assert choices == {
        "applicant.role": vocabularies["applicant_roles"],
        "appeal.registered.category": vocabularies["categories"],
        "appeal.referred.authority": vocabularies["authorities"],
        "appeal.answered.way": vocabularies["answer_ways"],
        "appeal.answered.kind": vocabularies["answer_kinds"],
        "appeal.measure_recorded.kind": vocabularies["measure_kinds"],
        "opening.recorded.seal": vocabularies["seal_states"],
        "settings.week": vocabularies["weeks"],
        "settings.languages": vocabularies["languages"],
    }
    assert [t.value for t in EventType] == list(schemas.MutationSchema().fields["type"].validators[0].choices)


def test_the_receipt_code_and_the_requests_are_the_specs():
    pattern = re.compile(event_data.RECEIPT_CODE.regex.pattern)
    alphabet, length = SPEC["receipt_code"]["alphabet"], SPEC["receipt_code"]["length"]
    assert pattern.match(alphabet[-length:]) and not pattern.match(alphabet[: length - 1])
    assert not pattern.match("I" * length), "Crockford base32 has no I"
    requests = SPEC["requests"]
    assert events.MAX_SAFE_INTEGER == 2**53 - 1 == 2 ** requests["safe_integer_bits"] - 1
    assert (
        requests["max_mutations_per_push"],
        requests["max_body_bytes"],
        requests["max_pull_limit"],
        requests["default_pull_limit"],
    ) == (events.MAX_MUTATIONS_PER_PUSH, events.MAX_BODY_BYTES, events.MAX_PULL_LIMIT, events.DEFAULT_PULL_LIMIT)


def test_the_rules_constants_are_the_specs():
    assert rules.school_year(dt.date(2025, SPEC["rules"]["school_year_first_month"], 1)) == 2025
    assert rules.school_year(dt.date(2025, SPEC["rules"]["school_year_first_month"] - 1, 28)) == 2024
    assert rules.EARLIEST_RECEIVED_ON.isoformat() == SPEC["rules"]["earliest_received_on"]
    assert dt.timedelta(days=SPEC["rules"]["received_on_tolerance_days"]) == rules.RECEIVED_ON_TOLERANCE


def test_the_refusal_codes_of_the_rules_are_the_specs():
    """The closed list the PWA's twin is checked against: every code ``sync/rules.py`` refuses with."""
    source = Path(rules.__file__).read_text(encoding="utf-8")
    raised = set(re.findall(r'Refusal\(\s*"([a-z_]+)"', source))
    numbered = set(re.findall(r'_numbered\([^()]*\[[^]]*\][^()]*"([a-z_]+)"\)', source))
    assert {"referral_not_found", "answer_not_found"} <= numbered, "the scan for numbered entries is broken"
    assert sorted(raised | numbered) == [code for code in SPEC["refusals"] if code not in SPEC["journal_refusals"]]


def test_the_journals_refusals_are_refusals_the_server_gives():
    """The codes only the server's journal refuses with are in the closed list of refusals (the PWA words
    each), and the server does refuse with each."""
    journal = SPEC["journal_refusals"]
    assert journal and set(journal) <= set(SPEC["refusals"]) and journal == sorted(journal)
    server = Path(rules.__file__).resolve().parent.parent / "server"
    source = "\n".join(path.read_text(encoding="utf-8") for path in sorted(server.rglob("*.py")))
    assert [code for code in journal if f'"{code}"' not in source] == []


def test_the_http_error_codes_are_the_specs():
    assert {str(status): code for status, code in events.HTTP_ERROR_CODES.items()} == SPEC["http_errors"]


def test_an_accessor_names_what_the_spec_lacks_or_holds_wrongly():
    with pytest.raises(spec.SpecError, match=re.escape("no requests.nothing")):
        spec.integer("requests", "nothing")
    with pytest.raises(spec.SpecError, match=re.escape("receipt_code.alphabet is not an integer")):
        spec.integer("receipt_code", "alphabet")
    with pytest.raises(spec.SpecError, match=re.escape("limits.person.name is not a list of integers")):
        spec.Limits("person").bounds("name")
    with pytest.raises(spec.SpecError, match=re.escape("no limits.nobody")):
        spec.Limits("nobody")


def test_the_tablet_is_served_this_very_file(client):
    """pwa/js/spec.json links here: served as a JSON module (its type is what a module import accepts),
    minified like every JSON file of the shell, and precached by the service worker."""
    response = client.get("/js/spec.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == SPEC
    assert b"\n" not in response.get_data()
    response.close()
    worker = client.get("/service-worker.js")
    assert "'/js/spec.json'" in worker.get_data(as_text=True)
    worker.close()
