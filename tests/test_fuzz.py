"""Fuzzing the API from its own OpenAPI document: schemathesis, in process, on a real migrated database.

Each operation of ``/api/v1/openapi.json`` is called with generated requests, positive (what the document
says is valid) and negative (what it says is not), with a real bearer token of a role that may call it.
Every answer must pass schemathesis's ``not_a_server_error``, ``response_schema_conformance``,
``negative_data_rejection`` and ``ignored_auth`` (which also calls again without the token and with a
wrong one), and its status must be one the operation documents itself (``default`` does not count).

The run is derandomized, so CI sees the same cases every time. ``ISHENIM_FUZZ_CASES`` (examples per
operation and mode) and ``ISHENIM_FUZZ_SEED`` (a seed instead of derandomizing) make longer, different
runs: ``make fuzz``. The number of cases actually sent is counted and asserted, so that generation that
silently shrank (an operation that stopped generating, a strategy that filters everything) fails here.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode

from sync.events import SCHOOL_ROLES, Role
from tests.factory import PASSWORD, Factory

CASES = int(os.environ.get("ISHENIM_FUZZ_CASES", "50"))  # examples per operation and mode
SEED = os.environ.get("ISHENIM_FUZZ_SEED")
# At least this many cases per mode, so at least 1,000 per run. Operations with nothing to vary (GET /me)
# give one case and negative mode has nothing to break in them, so a mode sends fewer than CASES × operations.
MIN_CASES = 500
CHECKS = [
    getattr(schemathesis.checks, name)
    for name in ("not_a_server_error", "response_schema_conformance", "negative_data_rejection", "ignored_auth")
]

# Who calls each endpoint (as Flask names it): a role that gets a 2xx, so the fuzzer reaches the handler.
# None: a public endpoint. An endpoint missing here fails the test until someone picks its caller.
CALLER: dict[str, Role | None] = {
    "auth.issue_token": None,
    "me.me": Role.PEDAGOGUE,
    "me.change_password": Role.PEDAGOGUE,
    "sync.push": Role.PEDAGOGUE,
    "sync.pull": Role.PEDAGOGUE,
    "receipts.check": Role.PEDAGOGUE,
    "reports.dashboard": Role.DIRECTOR,
    "reports.monthly": Role.DIRECTOR,
    "audit.reads": Role.ADMIN,
    "audit.erasures": Role.ADMIN,
    "district.district_figures": Role.DISTRICT,
    **{
        f"admin.{name}": Role.ADMIN
        for name in (
            "list_users",
            "create_user",
            "disable_user",
            "enable_user",
            "reset_password",
            "list_devices",
            "revoke_device",
            "get_settings",
            "patch_settings",
        )
    },
}
# Operations where positive generation cannot be expected to reach a 2xx, and why.
NO_SUCCESS_EXPECTED = {
    # Success needs the caller's current password, which no generator guesses; test_tokens changes it.
    "me.change_password": "needs the current password",
}


@dataclass
class Run:
    """What one mode's run saw: cases sent per operation, statuses, and the failures found."""

    mode: GenerationMode
    cases: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)


@dataclass(frozen=True)
class School:
    """A school with a logged-in device per role, a district's viewer, and a user and device to act on."""

    tokens: dict[Role, str]
    pedagogue_device: str
    target_user: str
    target_device: str
    login: dict[str, str]


def make_school(app: Flask, factory: Factory) -> School:
    school = factory.school()
    devices = {role: factory.device(role, school) for role in SCHOOL_ROLES}
    district, _ = factory.district(school)
    target = factory.device(Role.COMMISSION, school)  # the admin's fuzzed actions land on this account
    me = target.transport("GET", "/api/v1/me", None, {"Authorization": f"Bearer {target.token}"})[1]
    return School(
        tokens={**{role: str(device.token) for role, device in devices.items()}, Role.DISTRICT: str(district.token)},
        pedagogue_device=str(devices[Role.PEDAGOGUE].device_id),
        target_user=me["user"]["id"],
        target_device=str(target.device_id),
        login={"username": factory.user(school, Role.COMMISSION), "password": PASSWORD},
    )


def endpoint_of(app: Flask, operation: Any) -> str:
    """The Flask endpoint behind an OpenAPI operation (path parameters are all UUIDs here)."""
    path = operation.path
    for name in operation.path_parameters:
        path = path.replace("{" + name.name + "}", "00000000-0000-4000-8000-000000000000")
    endpoint, _ = app.url_map.bind("localhost").match(path, method=operation.method.upper())
    return str(endpoint)


def strategy(operation: Any, mode: GenerationMode, endpoint: str, school: School) -> Any:
    """The operation's cases. In positive mode, half of them also name real things of the school (its
    device in a push, a user and a device in the admin's paths, an account that logs in), so that valid
    requests get past "no such thing" into the handler. Negative cases stay wholly generated."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is not GenerationMode.POSITIVE:
        return generated
    real: Any = None
    if endpoint in ("admin.disable_user", "admin.enable_user", "admin.reset_password"):
        real = operation.as_strategy(generation_mode=mode, path_parameters={"user_id": school.target_user})
    elif endpoint == "admin.revoke_device":
        real = operation.as_strategy(generation_mode=mode, path_parameters={"device_id": school.target_device})
    elif endpoint == "sync.push":
        real = generated.map(lambda case: _with_body(case, device_id=school.pedagogue_device))
    elif endpoint == "auth.issue_token":
        real = generated.map(lambda case: _with_body(case, **school.login))
    return generated if real is None else st.one_of(generated, real)


def _with_body(case: Any, **values: str) -> Any:
    if isinstance(case.body, dict):
        case.body.update(values)
    return case


def documented(operation: Any, status: int) -> bool:
    """Whether the operation documents ``status`` itself, rather than through the catch-all ``default``."""
    responses = operation.definition.raw["responses"]
    return str(status) in responses or f"{str(status)[0]}XX" in responses


def fuzz(operation: Any, strategy: Any, headers: dict[str, str] | None, run: Run) -> None:
    label = operation.label
    statuses = run.statuses.setdefault(label, Counter())

    @hypothesis.settings(
        max_examples=CASES,
        derandomize=SEED is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        # Health checks judge generation speed and filtering, which vary with a loaded CI machine; what
        # matters here, the number of cases actually sent, is counted and asserted instead.
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=strategy)
    def test(case: Any) -> None:
        run.cases[label] += 1
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1
        assert response.status_code >= 500 or documented(operation, response.status_code), (
            f"{label} answered {response.status_code}, which it does not document"
        )

    if SEED is not None:
        test = hypothesis.seed(int(SEED))(test)
    try:
        test()
    except hypothesis.errors.Unsatisfiable:
        # Negative mode has nothing to break in an operation without parameters or body (GET /me).
        if run.mode is GenerationMode.POSITIVE or any(True for _ in operation.iter_parameters()) or operation.body:
            raise
        run.statuses[label] = Counter()  # shown as sent nothing, on purpose
    except (Exception, BaseExceptionGroup) as error:  # every operation runs; all failures are reported
        run.failures.append((label, error))


def report(run: Run, seconds: float) -> str:
    lines = [f"{run.mode.value}: {sum(run.cases.values())} cases in {seconds:.1f}s"]
    for label, statuses in run.statuses.items():
        shown = ", ".join(f"{status}×{count}" for status, count in sorted(statuses.items()))
        lines.append(f"  {label}: {run.cases[label]} cases ({shown})")
    for label, error in run.failures:
        lines.append(f"FAILED {label}:\n{error}")
        lines.extend(f"  - {sub}" for sub in getattr(error, "exceptions", ()))
    return "\n".join(lines)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_api_survives_fuzzing(app: Flask, factory: Factory, mode: GenerationMode) -> None:
    school = make_school(app, factory)
    # The token is ours, given with each call: the generator neither makes nor breaks an Authorization
    # header (ignored_auth checks auth by calling again without it and with a wrong one).
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    run = Run(mode)
    started = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    endpoints = {operation.label: endpoint_of(app, operation) for operation in operations}
    assert set(endpoints.values()) <= set(CALLER), "pick a caller in CALLER for each new endpoint"
    for operation in operations:
        endpoint = endpoints[operation.label]
        role = CALLER[endpoint]
        # Plain answers: schemathesis's WSGI client offers gzip but does not undo it before it parses the
        # JSON. Compression itself is tests/test_compression.py's.
        headers = {"Accept-Encoding": "identity"}
        if role:
            headers["Authorization"] = f"Bearer {school.tokens[role]}"
        fuzz(operation, strategy(operation, mode, endpoint, school), headers, run)
    summary = report(run, time.perf_counter() - started)
    print(summary)  # shown with -s, and by make fuzz
    assert not run.failures, summary
    assert sum(run.cases.values()) >= MIN_CASES, summary
    if mode is GenerationMode.POSITIVE:
        missed = {
            label
            for label, statuses in run.statuses.items()
            if endpoints[label] not in NO_SUCCESS_EXPECTED and not any(200 <= s < 300 for s in statuses)
        }
        assert not missed, f"no 2xx, so the fuzzer never got into: {sorted(missed)}\n{summary}"
