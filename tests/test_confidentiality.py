"""Confidentiality at rest and on the way out: the canary test, the director's pull, logs and errors.

Unique canary strings go into every confidential field of letters and their corrections. None may then be
found in the database — read through SQL on either database, and on SQLite also in the raw file, its
``-wal`` and its ``-shm`` — in any of the usual encodings; yet the pedagogue's pull returns them intact.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import logging
import secrets
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.db import db
from server.models import DataKey, Device, Event, School
from server.services import journal, keys
from server.services.kinds.opening import OPENING
from sync import rules
from sync.client import Outbox, SyncClient
from sync.events import RECEIPT_ALPHABET
from tests.clock import school_today
from tests.factory import Factory, anonymous_registration, registration
from tests.storage import stored_values

# --- Needles: a canary in every encoding it could be stored in ---------------------------------------


def new_canary() -> str:
    # "Zq" never occurs in hex (UUIDs, hashes) nor in the app's vocabularies; 14 random hex digits make it unique.
    return "Zq" + secrets.token_hex(7)


def new_receipt_code() -> str:
    """A random valid receipt code (^[0-9A-HJKMNP-TV-Z]{6}$) with three letters outside hex, so that it
    cannot turn up by chance in the hex digits, dates and numbers the database legitimately holds."""
    letters = "GHJKMNPQRSTVWXYZ"
    chars = [secrets.choice(letters) for _ in range(3)] + [secrets.choice(RECEIPT_ALPHABET) for _ in range(3)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def base64_cores(raw: bytes) -> set[str]:
    """What base64 of ``raw`` looks like inside base64 of any longer text: for each of the three
    alignments, the characters that depend on ``raw``'s bits alone (standard and URL-safe alphabets)."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode()
        first = -(-8 * offset // 6)  # the first character made of raw's bits only
        end = 8 * (offset + len(raw)) // 6  # past the last such character
        core = encoded[first:end]
        cores |= {core, core.translate(str.maketrans("+/", "-_"))}
    return cores


@functools.cache
def encodings(canary: str) -> dict[str, bytes]:
    """The canary as UTF-8, UTF-16 (both byte orders), hex, and base64 at every alignment."""
    forms = {
        "utf-8": canary.encode(),
        "utf-16-le": canary.encode("utf-16-le"),
        "utf-16-be": canary.encode("utf-16-be"),
        "hex": canary.encode().hex().encode(),
    }
    for n, core in enumerate(sorted(base64_cores(canary.encode()))):
        forms[f"base64-{n}"] = core.encode()
    return forms


def occurrences(blob: bytes, canaries: Iterable[str]) -> list[tuple[str, str]]:
    """(canary, encoding) for every canary found in ``blob``, in any of its encodings."""
    return [(canary, name) for canary in canaries for name, needle in encodings(canary).items() if needle in blob]


def test_needle_search_finds_what_it_looks_for() -> None:
    """The search is not vacuous: each encoding of a canary is found inside longer encoded text."""
    canary = new_canary()
    for prefix_length in range(6):
        padding = secrets.token_bytes(prefix_length)
        plain = padding + f"…{canary}…".encode() + secrets.token_bytes(4)
        assert (canary, "utf-8") in occurrences(plain, [canary])
        wrapped = f"текст {canary} текст"
        assert (canary, "utf-16-le") in occurrences(padding + wrapped.encode("utf-16-le"), [canary])
        assert (canary, "utf-16-be") in occurrences(padding + wrapped.encode("utf-16-be"), [canary])
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            assert occurrences(encode(plain), [canary]), (prefix_length, encode)
    assert occurrences(secrets.token_bytes(4096), [canary]) == []


# --- Reading everything the database holds ------------------------------------------------------------


def found_in_database(app: Flask, canaries: Iterable[str]) -> list[tuple[str, str, str, str]]:
    """(table, column, canary, encoding) for each canary found in any stored value, read through SQL."""
    canaries = list(canaries)
    with app.app_context(), db.engine.connect() as conn:
        return [
            (table, column, canary, name)
            for table, column, raw in stored_values(conn)
            for canary, name in occurrences(raw, canaries)
        ]


def sqlite_files(app: Flask) -> dict[str, Path]:
    """The SQLite database file and its -wal and -shm companions (present or not)."""
    with app.app_context():
        database = Path(str(db.engine.url.database))
    return {suffix or "db": database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm")}


def found_in_files(files: dict[str, Path], canaries: Iterable[str]) -> list[tuple[str, str, str]]:
    canaries = list(canaries)
    return [
        (kind, canary, name)
        for kind, path in files.items()
        if path.exists()
        for canary, name in occurrences(path.read_bytes(), canaries)
    ]


# --- Letters full of canaries -------------------------------------------------------------------------


class Letters:
    """Two signed letters and an anonymous one, each confidential field a canary, then corrected."""

    def __init__(self, factory: Factory, school: School) -> None:
        self.device = factory.device(school=school)
        self.outbox = Outbox()
        self.canaries: set[str] = set()
        self.current: dict[str, dict[str, Any]] = {}  # appeal id -> latest contents
        self.case_canaries: set[str] = set()  # those written by ``casework``, all of them in the latest state
        self.act_canaries: set[str] = set()  # in an opening's act, which the director receives by regulation

    def canary(self, template: str = "{}") -> str:
        """A field value holding a new canary (within Kyrgyz or Russian text, as letters are written)."""
        token = new_canary()
        self.canaries.add(token)
        return template.format(token)

    def code(self) -> str:
        code = new_receipt_code()
        self.canaries.add(code)
        return code

    def signed(self) -> str:
        appeal = str(uuid.uuid4())
        applicant = {
            "anonymous": False,
            "full_name": self.canary("Асель {} кызы"),
            "age": 14,
            "role": "student",
            "grade": self.canary(),
            "address": self.canary("Бишкек, ул. {}, 7"),
            "phone": self.canary("+996 {}"),
        }
        data = registration(
            applicant=applicant,
            summary=self.canary("Мени {} урушат."),
            text=self.canary("Толук кат: {}. Жардам бериңизчи."),
            receipt_code=self.code(),
        )
        self.outbox.add("appeal.registered", appeal, data)
        self.current[appeal] = self._contents(data)
        return appeal

    def anonymous(self) -> str:
        appeal = str(uuid.uuid4())
        data = anonymous_registration(
            summary=self.canary("Аноним: {}"),
            text=self.canary("{}"),
            receipt_code=self.code(),
            category="violence_or_cruelty",
        )
        data["applicant"]["grade"] = self.canary()
        self.outbox.add("appeal.registered", appeal, data)
        self.current[appeal] = self._contents(data)
        return appeal

    def amend(self, appeal: str, base_version: int, anonymous: bool = False) -> None:
        """Correct every confidential field with new canaries; the reason carries one too."""
        applicant: dict[str, Any] = {"grade": self.canary()}
        if not anonymous:
            applicant |= {
                "full_name": self.canary("Айгерим {}"),
                "address": self.canary("Ош, {} көчөсү"),
                "phone": self.canary("0555 {}"),
            }
        changes = {
            "applicant": applicant,
            "summary": self.canary("Оңдолгон: {}"),
            "text": self.canary("Жаңы текст {}"),
            "receipt_code": self.code(),
        }
        reason = self.canary("Ката кетиптир: {}")
        self.outbox.add("appeal.amended", appeal, {"changes": changes, "reason": reason}, base_version)
        latest = self.current[appeal]
        latest["applicant"] |= applicant
        latest.update({k: v for k, v in changes.items() if k != "applicant"})

    def casework(self, signed: str, version: int, hidden: str, hidden_version: int, refused: str) -> None:
        """The case work after registration, a canary in every text it carries: an opening's remarks, a
        decision, a referral and its feedback, answers, a measure, a closing, a refusal's reason."""
        before = set(self.canaries)
        day = school_today().isoformat()
        remarks = self.canary("Пломба {} бузулган")
        self.act_canaries = self.canaries - before
        opening = self.outbox.add(
            "opening.recorded",
            None,
            {
                "opened_at": dt.datetime.now(dt.UTC).isoformat(),
                "members": [{"name": "Айгүл Ж.", "position": "социалдык педагог"}],
                "letters_count": 3,
                "seal": "damaged",
                "remarks": remarks,
            },
        )
        present = [{"name": f"Мүчө {n}", "position": "комиссия", "confirmed": True} for n in range(3)]
        meeting = self.outbox.add("meeting.recorded", None, {"held_on": day, "members_present": present})
        official = {"name": self.canary("Бакыт {}"), "position": self.canary("орун басар {}")}
        steps: list[tuple[str, str, dict[str, Any]]] = [
            (
                signed,
                "appeal.decided",
                {
                    "meeting_id": meeting["id"],
                    "decision": self.canary("Чечим: {}"),
                    "official": official,
                    "measures_planned": self.canary("{} пландалды"),
                },
            ),
            (
                signed,
                "appeal.referred",
                {
                    "referred_on": day,
                    "authority": "police",
                    "outgoing_no": self.canary(),
                    "contact": self.canary("ИДН {}"),
                    "note": self.canary("Эскертүү {}"),
                },
            ),
            (
                signed,
                "appeal.feedback_received",
                {"referral_no": 1, "received_on": day, "text": self.canary("Жооп {}")},
            ),
            (
                signed,
                "appeal.answered",
                {"answered_on": day, "way": "in_person", "kind": "answer", "text": self.canary("Жеке жооп {}")},
            ),
            (
                signed,
                "appeal.measure_recorded",
                {
                    "taken_on": day,
                    "kind": "moral_help",
                    "description": self.canary("Колдоо {}"),
                    "taken_by": self.canary(),
                },
            ),
            (signed, "appeal.closed", {"closed_on": day, "outcome": self.canary("Натыйжа {}")}),
        ]
        for n, (appeal, type, data) in enumerate(steps):
            self.outbox.add(type, appeal, data, version + n)
        stand = {"answered_on": day, "way": "stand", "kind": "answer", "text": self.canary("Стенд {}")}
        self.outbox.add("appeal.answered", hidden, stand, hidden_version)
        reason = {"decided_on": day, "reason": self.canary("Уят сөз {}")}
        self.outbox.add("appeal.not_accepted", refused, reason, 2)
        self.case_canaries = self.canaries - before
        assert opening["appeal_id"] is None

    def flush(self) -> None:
        self.outbox.flush(self.device)
        assert self.outbox.needs_attention == []

    @staticmethod
    def _contents(data: dict[str, Any]) -> dict[str, Any]:
        applicant = {k: data["applicant"][k] for k in ("full_name", "age", "grade", "address", "phone")}
        fields = {k: data[k] for k in ("summary", "text", "receipt_code")}
        return {"applicant": applicant, **fields, "case": rules.empty_case()}


def assert_contents(changes: list[dict[str, Any]], made: Letters) -> None:
    """Every latest value comes back intact: the registration's fields exactly, the case work's texts all."""
    appeals = {c["id"]: c["contents"] for c in changes if c["entity"] == "appeal"}
    registered = {appeal: {k: v for k, v in contents.items() if k != "case"} for appeal, contents in appeals.items()}
    assert registered == {appeal: {k: v for k, v in c.items() if k != "case"} for appeal, c in made.current.items()}
    pulled = json.dumps(changes, ensure_ascii=False)
    assert made.case_canaries and {c for c in made.case_canaries if c not in pulled} == set()


def write_letters(factory: Factory, school: School) -> Letters:
    """Register two signed letters and an anonymous one, then correct them (the first one twice)."""
    made = Letters(factory, school)
    first, second, hidden = made.signed(), made.signed(), made.anonymous()
    made.flush()
    made.amend(first, 1)
    made.amend(hidden, 1, anonymous=True)
    made.amend(first, 2)  # a second correction: the first one's canaries now live in history only
    made.amend(second, 1)
    made.flush()
    made.casework(first, 3, hidden, 2, second)
    made.flush()
    assert len(made.outbox.acknowledged) == 7 + 10
    return made


@pytest.fixture
def letters(app: Flask, factory: Factory) -> Letters:
    return write_letters(factory, factory.school())


def test_canaries_never_stored_in_the_clear(app: Flask, factory: Factory, caplog: pytest.LogCaptureFixture) -> None:
    """The acceptance canary test: zero occurrences at rest (SQL values; SQLite file, -wal, -shm, while
    open and after closing), none in the logs, and the pedagogue's pull returns every latest value intact."""
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING; at DEBUG they log every statement, parameter and row.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    # A control value that is stored in the clear (a school's name is not confidential): the search must find it.
    control = new_canary()
    school = factory.school(f"School {control}")
    made = write_letters(factory, school)
    assert len(made.canaries) > 40

    # The pedagogue's pull returns every canary intact: the latest, corrected values.
    changes, _ = made.device.pull_all()
    assert_contents(changes, made)

    # Through SQL, on either database: every value of every table.
    assert found_in_database(app, [control])
    assert found_in_database(app, made.canaries) == []

    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "sqlite":
        files = sqlite_files(app)
        # While the app's connections are open, recent pages live in the WAL: search it too.
        assert files["-wal"].exists() and files["-wal"].stat().st_size > 0
        assert files["-shm"].exists()
        assert found_in_files(files, [control])
        assert found_in_files(files, made.canaries) == []
        with app.app_context():
            db.session.remove()
            db.engine.dispose()  # the last connection checkpoints the WAL into the file
        assert found_in_files({"db": files["db"]}, [control])
        assert found_in_files(files, made.canaries) == []

    # The SQL the app ran was logged, parameters and rows included: the check covers what crossed to the database.
    assert any(record.name.startswith("sqlalchemy.engine") for record in caplog.records)
    assert occurrences(caplog.text.encode(), made.canaries) == []
    for record in caplog.records:
        shown = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        assert occurrences(shown.encode(), made.canaries) == [], record.name


def test_history_keeps_every_canary_sealed(app: Flask, letters: Letters) -> None:
    """Nothing was dropped: opening the journal's events gives back every canary ever written, the
    superseded values and the reasons included (so they are stored, only never in the clear)."""
    with app.app_context():
        opened = []
        for event in db.session.scalars(select(Event).order_by(Event.position)):
            school = db.session.get(School, event.school_id)
            assert school is not None
            owner = event.appeal.data_key if event.appeal else OPENING.find(school, event.subject)
            data_key = None
            if owner is not None:
                data_key = keys.open_data_key(owner if isinstance(owner, DataKey) else owner.data_key, school)
            opened.append(journal.event_data(event, school, data_key))
    history = json.dumps(opened, ensure_ascii=False)
    assert {c for c in letters.canaries if c not in history} == set()
    assert found_in_database(app, letters.canaries) == []


# --- Who reads contents -------------------------------------------------------------------------------


def _raw_pull(client: FlaskClient, device: SyncClient) -> tuple[int, bytes, dict[str, Any]]:
    response = client.get("/api/v1/sync/pull?limit=500", headers={"Authorization": f"Bearer {device.token}"})
    return response.status_code, response.get_data(), response.get_json(silent=True)


def _school_of(device: SyncClient, app: Flask) -> School:
    with app.app_context():
        row = db.session.scalars(select(Device).where(Device.uuid == uuid.UUID(device.device_id))).one()
        school = row.school
        db.session.expunge(school)
        return school


def test_director_reads_no_contents_by_default(
    app: Flask, client: FlaskClient, factory: Factory, letters: Letters
) -> None:
    """Under default settings the director's pull carries metadata only: no contents, no canary anywhere."""
    school = _school_of(letters.device, app)
    director = factory.device("director", school)
    status, body, answer = _raw_pull(client, director)
    assert status == 200
    assert {c["id"] for c in answer["changes"] if c["entity"] == "appeal"} == set(letters.current)
    for change in answer["changes"]:
        assert "contents" not in change
        if change["entity"] == "appeal":
            assert {"serial_no", "category", "status", "anonymous", "received_on"} <= set(change)
    assert occurrences(body, letters.canaries - letters.act_canaries) == []
    # The act of an opening is sent to the director (regulation 003 §2.4), its remarks included.
    assert {needle for needle, _ in occurrences(body, letters.act_canaries)} == letters.act_canaries


def test_director_reads_contents_when_the_school_allows(
    app: Flask, client: FlaskClient, factory: Factory, letters: Letters
) -> None:
    """With ``director_reads_contents`` set for the school, the director's pull carries contents."""
    school = _school_of(letters.device, app)
    director = factory.device("director", school)
    with app.app_context():
        row = db.session.get_one(School, school.id)
        assert row.director_reads_contents is False
        row.director_reads_contents = True
        db.session.commit()
    status, _, answer = _raw_pull(client, director)
    assert status == 200
    assert_contents(answer["changes"], letters)


def test_commission_reads_contents(app: Flask, client: FlaskClient, factory: Factory, letters: Letters) -> None:
    commission = factory.device("commission", _school_of(letters.device, app))
    status, _, answer = _raw_pull(client, commission)
    assert status == 200
    assert_contents(answer["changes"], letters)


def test_admin_and_other_schools_see_nothing(
    app: Flask, client: FlaskClient, factory: Factory, letters: Letters
) -> None:
    """The admin may not pull the journal; another school's staff pull nothing of this school's."""
    admin = factory.device("admin", _school_of(letters.device, app))
    status, body, _ = _raw_pull(client, admin)
    assert status == 403
    assert occurrences(body, letters.canaries) == []
    elsewhere = factory.school("Another school")
    with app.app_context():
        row = db.session.get_one(School, elsewhere.id)
        row.director_reads_contents = True
        db.session.commit()
    for role in ("pedagogue", "commission", "director"):
        status, body, answer = _raw_pull(client, factory.device(role, elsewhere))
        assert status == 200
        assert answer["changes"] == []
        assert occurrences(body, letters.canaries) == []


# --- Errors never echo what was sent ------------------------------------------------------------------


def _bad_pushes(letters: Letters, director: SyncClient) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(case, expected status, request): each request a push that fails, carrying canaries."""
    device = letters.device
    auth = {"Authorization": f"Bearer {device.token}"}
    seq = letters.outbox.next_seq

    def push(*mutations: dict[str, Any], device_id: str | None = device.device_id) -> dict[str, Any]:
        return {"json": {"device_id": device_id, "mutations": list(mutations)}, "headers": auth}

    def registered(n: int = 0, **overrides: Any) -> dict[str, Any]:
        applicant = {
            "anonymous": False,
            "full_name": letters.canary(),
            "role": "student",
            "grade": letters.canary(),
            "address": letters.canary(),
            "phone": letters.canary(),
        }
        data = registration(applicant=applicant, summary=letters.canary(), text=letters.canary())
        data["receipt_code"] = letters.code()
        data.update(overrides.pop("data", {}))
        mutation = {"seq": seq + n, "id": str(uuid.uuid4()), "type": "appeal.registered"}
        return {**mutation, "appeal_id": str(uuid.uuid4()), "base_version": None, "data": data, **overrides}

    def amended(n: int, appeal: str, changes: dict[str, Any], base_version: int = 1) -> dict[str, Any]:
        data = {"changes": changes, "reason": letters.canary()}
        mutation = {"seq": n, "id": str(uuid.uuid4()), "type": "appeal.amended", "appeal_id": appeal}
        return {**mutation, "base_version": base_version, "data": data}

    def with_applicant(**fields: Any) -> dict[str, Any]:
        mutation = registered()
        mutation["data"]["applicant"].update(fields)
        return push(mutation)

    yield "unknown-field", 422, push(registered(data={"comment": letters.canary()}))
    yield "too-long-phone", 422, with_applicant(phone=letters.canary() * 4)
    yield "wrong-type-age", 422, with_applicant(age=letters.canary())
    yield "anonymous-with-name", 422, with_applicant(anonymous=True, role="unknown")
    yield "bad-category", 422, push(registered(data={"category": letters.canary()}))
    yield "bad-receipt-code", 422, push(registered(data={"receipt_code": letters.canary()}))
    yield "bad-date", 422, push(registered(data={"received_on": letters.canary()}))
    yield "bad-opening-id", 422, push(registered(data={"opening_id": letters.canary()}))
    yield "unknown-type", 422, push(registered(type=letters.canary()))
    yield "bad-mutation-id", 422, push(registered(id=letters.canary()))
    yield "bad-device-id", 422, push(registered(), device_id=letters.canary())
    yield "seq-gap", 409, push(registered(5))
    yield "other-device", 403, push(registered(), device_id=str(uuid.uuid4()))
    as_director = {"json": push(registered(), device_id=director.device_id)["json"]}
    yield "wrong-role", 403, {**as_director, "headers": {"Authorization": f"Bearer {director.token}"}}
    one = registered()
    yield "too-many", 413, push(*({**one, "seq": seq + n, "id": str(uuid.uuid4())} for n in range(201)))
    yield "too-big", 413, push(registered(data={"text": letters.canary() * 70_000}))
    forged = {"Authorization": f"Bearer {letters.canary()}"}
    yield "bad-token", 401, {"json": push(registered())["json"], "headers": forged}
    truncated = f'{{"device_id": "{device.device_id}", "mutations": [{{"data": {{"summary": "{letters.canary()}"'
    yield "malformed-json", 400, {"data": truncated, "headers": {**auth, "Content-Type": "application/json"}}
    # Well-formed but refused by the rules: answered 200 with a rejected result, each advancing last_seq.
    yield "received-in-future", 200, push(registered(data={"received_on": "2999-01-01"}))
    yield "amend-unknown-appeal", 200, push(amended(seq + 1, str(uuid.uuid4()), {"summary": letters.canary()}))
    hidden = next(a for a, c in letters.current.items() if c["applicant"]["full_name"] is None)
    yield (
        "amend-anonymous-with-name",
        200,
        push(amended(seq + 2, hidden, {"applicant": {"full_name": letters.canary()}}, base_version=3)),
    )


REJECTED = {
    "received-in-future": "received_in_future",
    "amend-unknown-appeal": "appeal_not_found",
    "amend-anonymous-with-name": "invalid_amendment",
}


def test_errors_never_echo_canaries(
    app: Flask, client: FlaskClient, factory: Factory, letters: Letters, caplog: pytest.LogCaptureFixture
) -> None:
    """Every refused push carrying canaries answers 4xx (or 200 ``rejected``) without quoting them — in the
    body or headers — logs none of them, and stores none in the clear."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    director = factory.device("director", _school_of(letters.device, app))
    for case, status, request in _bad_pushes(letters, director):
        response = client.post("/api/v1/sync/push", **request)
        assert response.status_code == status, (case, response.get_json())
        shown = response.get_data() + str(response.headers).encode()
        assert occurrences(shown, letters.canaries) == [], case
        body = response.get_json()
        if response.status_code == 200:
            assert [(r["status"], r["error"]) for r in body["results"]] == [("rejected", REJECTED[case])]
        else:
            assert set(body) >= {"error", "message", "fields"}, case
    assert occurrences(caplog.text.encode(), letters.canaries) == []
    assert found_in_database(app, letters.canaries) == []
