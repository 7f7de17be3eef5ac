"""Retention: ``purge-expired`` erases the contents of cases that ended longer ago than the school's
``retention_years`` by destroying their data keys; the numbered rows, the figures and the chain stay.

Cases are made over the API with dates years back (the rules allow any date from 2000 to today), then the
command runs as an operator runs it, in a process of its own. The canaries are those of
``test_confidentiality``: after the purge neither they nor the erased cases' wrapped keys are anywhere in
the database, and on SQLite not in the raw file or its WAL either.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from server import crypto
from server.db import db
from server.models import Appeal, DataKey, Erasure, Event, Read, School, utcnow
from server.services import figures, journal, keys, retention, verify
from sync.client import Outbox, SyncClient
from sync.events import Role
from tests.clock import school_today
from tests.conftest import make_app
from tests.factory import Factory, anonymous_registration, registration
from tests.operator import run_flask
from tests.storage import stored_values
from tests.test_confidentiality import found_in_database, found_in_files, new_canary, sqlite_files


def ago(years: int, days: int = 0) -> dt.date:
    return retention.cutoff(school_today(), years) - dt.timedelta(days=days)


class Desk:
    """A pedagogue's device pushing one step at a time, keeping each case's version."""

    def __init__(self, device: SyncClient) -> None:
        self.device, self.outbox, self.versions = device, Outbox(), {}

    def send(self, type: str, appeal_id: str, data: dict[str, Any]) -> dict[str, Any]:
        base = None if type == "appeal.registered" else self.versions[appeal_id]
        mutation = self.outbox.add(type, appeal_id, data, base)
        self.outbox.flush(self.device)
        result: dict[str, Any] = self.outbox.acknowledged.get(mutation["id"]) or self.outbox.needs_attention[-1][1]
        if result["status"] == "applied":
            self.versions[appeal_id] = result["version"]
        return result

    def do(self, appeal_id: str, type: str, data: dict[str, Any]) -> None:
        assert self.send(type, appeal_id, data)["status"] == "applied", type


@dataclass
class World:
    """Two schools' cases, named by what retention must do with them, and the canaries of the erased ones."""

    school: School
    other: School
    desk: Desk
    cases: dict[str, str] = field(default_factory=dict)  # name -> appeal id
    canaries: set[str] = field(default_factory=set)  # in the cases that must be erased
    kept_canaries: set[str] = field(default_factory=set)

    def canary(self, template: str = "{}", *, kept: bool = False) -> str:
        token = new_canary()
        (self.kept_canaries if kept else self.canaries).add(token)
        return template.format(token)

    def closed_case(self, name: str, closed_on: dt.date, *, kept: bool = False, amend: bool = False) -> None:
        """A signed letter: answered, referred with feedback, a measure, closed on ``closed_on``."""
        appeal = str(uuid.uuid4())
        canary = lambda template="{}": self.canary(template, kept=kept)  # noqa: E731
        received = closed_on - dt.timedelta(days=20)
        applicant = {
            **registration()["applicant"],
            "full_name": canary("Асель {} кызы"),
            "address": canary("ул. {}, 1"),
            "phone": canary("+996 {}"),
        }
        data = registration(
            received_on=received.isoformat(), applicant=applicant, summary=canary("Кат {}"), text=canary("Текст {}")
        )
        self.desk.do(appeal, "appeal.registered", data)
        if amend:
            changes = {"summary": canary("Оңдолду {}"), "category": "violence_or_cruelty"}
            self.desk.do(appeal, "appeal.amended", {"changes": changes, "reason": canary("Себеп {}")})
        day = lambda n: (received + dt.timedelta(days=n)).isoformat()  # noqa: E731
        self.desk.do(appeal, "appeal.referred", {"referred_on": day(1), "authority": "police", "note": canary()})
        self.desk.do(
            appeal, "appeal.answered", {"answered_on": day(3), "way": "in_person", "kind": "answer", "text": canary()}
        )
        self.desk.do(
            appeal,
            "appeal.measure_recorded",
            {"taken_on": day(4), "kind": "conversation", "description": canary(), "taken_by": "Айгүл Ж."},
        )
        self.desk.do(appeal, "appeal.closed", {"closed_on": closed_on.isoformat(), "outcome": canary("Натыйжа {}")})
        self.cases[name] = appeal

    def refused_case(self, name: str, decided_on: dt.date, *, kept: bool = False) -> None:
        appeal = str(uuid.uuid4())
        data = anonymous_registration(received_on=decided_on.isoformat(), summary=self.canary(kept=kept))
        self.desk.do(appeal, "appeal.registered", data)
        self.desk.do(
            appeal, "appeal.not_accepted", {"decided_on": decided_on.isoformat(), "reason": self.canary(kept=kept)}
        )
        self.cases[name] = appeal


@pytest.fixture
def world(app: Flask, factory: Factory) -> World:
    school, other = factory.school("School No. 1"), factory.school("School No. 2")
    made = World(school, other, Desk(factory.device(Role.PEDAGOGUE, school)))
    made.closed_case("closed_6y", ago(6), amend=True)  # the first key row of the database: see the start-up test
    made.refused_case("refused_6y", ago(6, 3))
    made.closed_case("closed_4y", ago(4), kept=True)
    made.refused_case("refused_4y", ago(4), kept=True)
    # Received seven years ago and never closed: open cases never expire.
    still_open = str(uuid.uuid4())
    made.desk.do(
        still_open, "appeal.registered", registration(received_on=ago(7).isoformat(), summary=made.canary(kept=True))
    )
    made.cases["open_7y"] = still_open
    made.closed_case("closed_today", school_today(), kept=True)
    # Another school's old case: erased by a run over every school, untouched by a run for the first school.
    elsewhere = World(other, school, Desk(factory.device(Role.PEDAGOGUE, other)))
    elsewhere.closed_case("closed_6y_elsewhere", ago(6))
    made.cases.update(elsewhere.cases)
    made.canaries |= elsewhere.canaries
    return made


ERASED = ("closed_6y", "refused_6y", "closed_6y_elsewhere")
KEPT = ("closed_4y", "refused_4y", "open_7y", "closed_today")


def rows(app: Flask) -> dict[str, dict[str, Any]]:
    """Every appeal's row and key, by appeal id."""
    with app.app_context():
        return {
            str(appeal.uuid): {
                "serial_no": appeal.serial_no,
                "school_year": appeal.school_year,
                "status": appeal.status,
                "received_on": appeal.received_on,
                "category": appeal.category,
                "closed_on": appeal.closed_on,
                "answered_on": appeal.answered_on,
                "change_no": appeal.change_no,
                "version": appeal.version,
                "erased_at": appeal.erased_at,
                "contents": appeal.contents,
                "key_id": appeal.data_key.key_id,
                "wrapped": appeal.data_key.wrapped,
            }
            for appeal in db.session.scalars(select(Appeal))
        }


def the_figures(app: Flask, world: World) -> list[dict[str, Any]]:
    """The dashboard today and the monthly report of every month a case was received or ended in."""
    with app.app_context():
        school = db.session.get(School, world.school.id)
        assert school is not None
        days = db.session.execute(select(Appeal.received_on, Appeal.closed_on)).all()
        months = sorted({dt.date(d.year, d.month, 1) for pair in days for d in pair if d} | {ago(6, 3).replace(day=1)})
        today = school_today()
        return [figures.dashboard(school, today), *(figures.monthly_report(school, m, today) for m in months)]


def everything(app: Flask) -> list[tuple[str, str, bytes]]:
    with app.app_context(), db.engine.connect() as conn:
        return sorted(stored_values(conn))


def purge(instance: Path, *args: str) -> str:
    """``purge-expired`` run as the operator runs it, in a process of its own; returns what it printed."""
    done = run_flask(instance, "purge-expired", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def is_sqlite(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def close_connections(app: Flask) -> None:
    """The test's own connections closed: on SQLite the last one checkpoints the WAL into the file."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_expired_cases_are_erased_and_the_rest_untouched(
    app: Flask, instance: Path, client: FlaskClient, factory: Factory, world: World
) -> None:
    """The acceptance test: cases closed or refused six years ago lose their key and contents, everything
    four years old, still open or closed today keeps them; numbers, metadata and figures stay; the chain
    verifies; a reader's pull shows the erased cases as erased; each erasure has its audit entry; and no
    canary nor erased key is left in the database, nor on SQLite in its file and WAL."""
    ids = world.cases
    before, figures_before = rows(app), the_figures(app, world)
    reader = world.desk.device
    _, cursor = reader.pull_all()
    sqlite = is_sqlite(app)
    erased_keys = [before[ids[name]]["wrapped"] for name in ERASED]
    erased_projections = [before[ids[name]]["contents"] for name in ERASED]
    if sqlite:  # the search is not vacuous: before the purge the WAL holds the wrapped keys, as written
        files = sqlite_files(app)
        assert all(key in files["-wal"].read_bytes() for key in erased_keys)

    printed = purge(instance)
    if sqlite:  # the command checkpointed: the WAL is empty, and the file no longer holds the keys
        assert files["-wal"].stat().st_size == 0
        assert _no_keys(files, erased_keys + erased_projections)

    # Named by number only, school by school.
    lines = printed.splitlines()
    number = lambda name: f"{before[ids[name]]['serial_no']}/{before[ids[name]]['school_year']}"  # noqa: E731
    assert f"2 erased: {number('closed_6y')}, {number('refused_6y')}." in lines[0]
    assert f"1 erased: {number('closed_6y_elsewhere')}." in lines[1]
    assert lines[2].startswith("Erased the contents of 3 case(s); run ")

    after = rows(app)
    for name in ERASED:
        row, old = after[ids[name]], before[ids[name]]
        assert row["erased_at"] is not None and row["contents"] == b""
        assert (row["key_id"], row["wrapped"]) == (keys.ERASED, b"")
        assert row["change_no"] > old["change_no"]  # sent again, so tablets forget too
        unchanged = ("serial_no", "school_year", "status", "received_on", "category", "closed_on", "answered_on")
        assert {k: row[k] for k in unchanged} == {k: old[k] for k in unchanged}
    for name in KEPT:
        assert after[ids[name]] == before[ids[name]], name
    assert the_figures(app, world) == figures_before

    # The chain, the rows against their events, the keys and the audit entries all agree.
    with app.app_context():
        assert verify.first_break() is None

    # The reader's next pull brings exactly the two erased cases of its school, as erased, nothing to open.
    with app.app_context():
        reads_before = db.session.scalar(select(func.count()).select_from(Read))
    changes, _ = reader.pull_all(cursor)
    assert sorted(change["id"] for change in changes) == sorted([ids["closed_6y"], ids["refused_6y"]])
    for change in changes:
        assert change["erased"] is True and change["erased_at"] is not None
        assert "contents" not in change
        assert [entry.get("reason") for entry in change["history"]] == [None] * len(change["history"])
        assert len(change["history"]) == change["version"]
    full, _ = reader.pull_all()
    assert {c["id"]: c["erased"] for c in full if c["entity"] == "appeal"} == {
        ids[name]: name in ERASED for name in (*ERASED[:2], *KEPT)
    }
    assert all("contents" in c for c in full if c["entity"] == "appeal" and not c["erased"])
    with app.app_context():  # only the kept cases were decrypted, so only they are reads
        assert db.session.scalar(select(func.count()).select_from(Read)) == reads_before + len(KEPT)

    # The audit of erasures, for the director: numbers, dates, who, why; never a word of a letter.
    director = factory.device(Role.DIRECTOR, world.school)
    answer = client.get("/api/v1/audit/erasures", headers={"Authorization": f"Bearer {director.token}"})
    assert answer.status_code == 200
    entries = answer.get_json()["erasures"]
    assert sorted((e["school_year"], e["serial_no"]) for e in entries) == sorted(
        (before[ids[n]]["school_year"], before[ids[n]]["serial_no"]) for n in ERASED[:2]
    )
    assert {e["reason"] for e in entries} == {"retention"} and {e["retention_years"] for e in entries} == {5}
    assert {e["ended_on"] for e in entries} == {ago(6).isoformat(), ago(6, 3).isoformat()}
    assert len({e["run"] for e in entries}) == 1 and all(e["operator"].startswith("cli") for e in entries)
    assert found_in_database(app, world.canaries) == []

    # Nothing of the erased cases is left to open, in SQL; the kept cases still open, every word intact.
    with app.app_context(), db.engine.connect() as conn:
        stored = [raw for _, _, raw in stored_values(conn)]
    for needle in erased_keys + erased_projections:
        assert not any(needle in raw for raw in stored)
    pulled = json.dumps(full, ensure_ascii=False)
    assert [token for token in world.kept_canaries if token not in pulled] == []
    if sqlite:
        # Neither the file nor its WAL holds the keys or the projections' ciphertexts (secure_delete zeroed
        # them, the command checkpointed), nor any canary.
        files = sqlite_files(app)
        assert _no_keys(files, erased_keys + erased_projections)
        assert found_in_files(files, world.canaries) == []
        close_connections(app)
        assert _no_keys(files, erased_keys + erased_projections)
        assert found_in_files(files, world.canaries) == []


def _no_keys(files: dict[str, Path], needles: list[bytes]) -> bool:
    return not any(path.exists() and needle in path.read_bytes() for path in files.values() for needle in needles)


def test_the_events_ciphertexts_stay_chained_and_open_with_no_key(app: Flask, instance: Path, world: World) -> None:
    """Crypto-erasure, not deletion: the erased cases' events keep their sealed bytes (the chain covers
    them), and not one of them opens with any key the database still holds."""
    with app.app_context():
        sealed_before = dict(db.session.execute(select(Event.uuid, Event.sealed)).all())
    purge(instance)
    with app.app_context():
        assert dict(db.session.execute(select(Event.uuid, Event.sealed)).all()) == sealed_before
        erased = db.session.scalars(select(Appeal).where(Appeal.erased_at.is_not(None))).all()
        live = [(row, db.session.get(School, row.school_id)) for row in db.session.scalars(select(DataKey))]
        opened = [keys.open_data_key(row, school) for row, school in live if row.key_id != keys.ERASED]
        assert len(opened) == len(live) - len(ERASED)
        for appeal in erased:
            school = appeal.school
            with pytest.raises(crypto.CryptoError):
                keys.open_data_key(appeal.data_key, school)
            for event in db.session.scalars(select(Event).where(Event.appeal_id == appeal.id)):
                if event.sealed is None:
                    continue
                for key in opened:
                    with pytest.raises(crypto.CryptoError):
                        journal.event_data(event, school, key)


def test_running_again_changes_nothing(app: Flask, instance: Path, world: World) -> None:
    purge(instance)
    first = everything(app)
    printed = purge(instance)
    assert "0 erased." in printed.splitlines()[0] and "Erased the contents of 0 case(s)" in printed
    assert everything(app) == first


def test_a_dry_run_lists_and_changes_nothing(app: Flask, instance: Path, world: World) -> None:
    before = everything(app)
    printed = purge(instance, "--dry-run")
    assert "2 would be erased: " in printed and "1 would be erased: " in printed
    assert printed.splitlines()[-1] == "Dry run: 3 case(s) would be erased; nothing was changed."
    assert everything(app) == before


def test_one_school_only(app: Flask, instance: Path, world: World) -> None:
    printed = purge(instance, "--school", str(world.other.uuid))
    assert len(printed.splitlines()) == 2 and "1 erased: " in printed
    after = rows(app)
    assert after[world.cases["closed_6y_elsewhere"]]["erased_at"] is not None
    assert after[world.cases["closed_6y"]]["erased_at"] is None
    with app.app_context():
        assert verify.first_break() is None


def test_the_setting_decides(app: Flask, runner: FlaskCliRunner, instance: Path, world: World) -> None:
    """``retention_years`` is a school setting in 1…50, 5 by default; three years erase the four-year-old
    cases as well."""
    school = str(world.school.uuid)
    shown = runner.invoke(args=["school-settings", "--school", school])
    assert '"retention_years": 5' in shown.output
    for wrong in ("0", "51", '"5"', "2.5"):
        refused = runner.invoke(args=["school-settings", "--school", school, "--set", f"retention_years={wrong}"])
        assert refused.exit_code != 0 and "retention_years" in refused.output, wrong
    changed = runner.invoke(args=["school-settings", "--school", school, "--set", "retention_years=3"])
    assert changed.exit_code == 0, changed.output
    printed = purge(instance, "--school", school)
    assert "4 erased: " in printed
    erased = {name for name, appeal in world.cases.items() if rows(app)[appeal]["erased_at"] is not None}
    assert erased == {"closed_6y", "refused_6y", "closed_4y", "refused_4y"}


def test_a_case_expires_on_the_anniversary_of_its_end(app: Flask, world: World) -> None:
    """Five years after the day it was closed (or refused), not a day earlier; 29 February counts from the
    28th in a common year."""
    assert retention.cutoff(dt.date(2029, 2, 28), 5) == dt.date(2024, 2, 28)
    assert retention.cutoff(dt.date(2028, 2, 29), 5) == dt.date(2023, 2, 28)
    with app.app_context():
        school = db.session.get(School, world.school.id)
        assert school is not None
        for name, ended in (("closed_6y", ago(6)), ("refused_6y", ago(6, 3))):
            anniversary = ended.replace(year=ended.year + 5) if (ended.month, ended.day) != (2, 29) else None
            if anniversary is None:
                continue
            due = {str(item.appeal.uuid) for item in retention.expired(school, anniversary)}
            early = {str(item.appeal.uuid) for item in retention.expired(school, anniversary - dt.timedelta(days=1))}
            assert world.cases[name] in due and world.cases[name] not in early, name
        everything_due = {str(item.appeal.uuid): item.ended_on for item in retention.expired(school, school_today())}
    assert everything_due == {world.cases["closed_6y"]: ago(6), world.cases["refused_6y"]: ago(6, 3)}


def test_the_admin_sets_the_retention(client: FlaskClient, factory: Factory, world: World) -> None:
    """Over the API too: the admin's PATCH takes 1…50 and refuses anything else, saving nothing."""
    admin = {"Authorization": f"Bearer {factory.device(Role.ADMIN, world.school).token}"}
    assert client.get("/api/v1/admin/settings", headers=admin).get_json()["settings"]["retention_years"] == 5
    for wrong in (0, 51, "7", None, True):
        answer = client.patch("/api/v1/admin/settings", json={"retention_years": wrong}, headers=admin)
        assert answer.status_code == 422 and "retention_years" in answer.get_json()["fields"], wrong
    answer = client.patch("/api/v1/admin/settings", json={"retention_years": 10}, headers=admin)
    assert answer.status_code == 200 and answer.get_json()["settings"]["retention_years"] == 10
    me = client.get("/api/v1/me", headers=admin).get_json()
    assert me["school"]["retention_years"] == 10


def test_work_on_an_erased_case_is_refused(app: Flask, instance: Path, world: World) -> None:
    """Feedback may come after closing, but not after erasure; nor a correction: ``appeal_erased``."""
    purge(instance)
    appeal = world.cases["closed_6y"]
    feedback = {"referral_no": 1, "received_on": ago(6).isoformat(), "text": "Кеч келген жооп."}
    assert world.desk.send("appeal.feedback_received", appeal, feedback)["error"] == "appeal_erased"
    correction = {"changes": {"urgent": True}, "reason": "Оңдоо."}
    assert world.desk.send("appeal.amended", appeal, correction)["error"] == "appeal_erased"
    with app.app_context():
        assert verify.first_break() is None


def _tamper(app: Flask, change: Any) -> str:
    with app.app_context():
        change()
        db.session.commit()
        found = verify.first_break()
        assert found is not None
        return found.problem


def _appeal(world: World, name: str) -> Appeal:
    appeal = db.session.scalar(select(Appeal).where(Appeal.uuid == uuid.UUID(world.cases[name])))
    assert appeal is not None
    return appeal


@pytest.mark.parametrize(
    ("tampering", "problem"),
    [
        # A key destroyed behind retention's back: the case is not recorded as erased.
        ("destroy_live_key", "its data key is destroyed, but the case is not recorded as erased"),
        # The erasure undone on the row, the audit entry left.
        ("unerase_row", "its data key is destroyed, but the case is not recorded as erased"),
        ("drop_audit_entry", "it is recorded as erased without its audit entry"),
        ("erase_an_open_case", "the record differs from its events in status"),
        ("move_an_erased_date", "the record differs from its events in closed_on"),
    ],
)
def test_verify_flags_an_erasure_that_is_not_what_it_says(
    app: Flask, instance: Path, world: World, tampering: str, problem: str
) -> None:
    purge(instance)

    def change() -> None:
        if tampering == "destroy_live_key":
            keys.destroy_data_key(_appeal(world, "closed_4y").data_key)
        elif tampering == "unerase_row":
            _appeal(world, "closed_6y").erased_at = None
            db.session.execute(Erasure.__table__.delete())
        elif tampering == "drop_audit_entry":
            db.session.execute(Erasure.__table__.delete())
        elif tampering == "erase_an_open_case":
            appeal = _appeal(world, "open_7y")
            keys.destroy_data_key(appeal.data_key)
            appeal.contents, appeal.erased_at = b"", utcnow()
            db.session.add(
                Erasure(
                    school_id=appeal.school_id,
                    appeal=appeal,
                    run=uuid.uuid4(),
                    reason="retention",
                    operator="cli:x",
                    ended_on=ago(7),
                    retention_years=5,
                    erased_at=appeal.erased_at,
                )
            )
        else:
            _appeal(world, "closed_6y").closed_on = ago(8)

    assert _tamper(app, change) == problem


def test_the_server_starts_when_its_first_key_was_destroyed(
    app: Flask, instance: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start-up check opens a sample data key; a destroyed one is never the sample."""
    purge(instance)
    with app.app_context():
        first = db.session.scalars(select(DataKey).order_by(DataKey.id)).first()
        assert first is not None and first.key_id == keys.ERASED
    close_connections(app)
    again = make_app(instance, monkeypatch)
    with again.app_context():
        assert verify.first_break() is None
        db.session.remove()
        db.engine.dispose()
    missing_key = instance / "elsewhere.key"
    with pytest.raises(keys.StartupError):  # and it still refuses a wrong key
        make_app(instance, monkeypatch, ISHENIM_KEY_FILE=str(missing_key), ISHENIM_MASTER_KEY=_another_key())


def _another_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_a_key_rotation_after_a_purge_leaves_surviving_copies_useless(
    app: Flask, instance: Path, client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of an erased case's wrapped key kept elsewhere (a backup, PostgreSQL's dead rows) opens it
    with the master key of its day. ``rotate-key`` skips destroyed keys, and once it finishes that master
    key has left the server: what the copy needs is gone too, while every kept case still opens."""
    with app.app_context():
        erased = _appeal(world, "closed_6y")
        copy, school_uuid, owner = erased.data_key.wrapped, str(erased.school.uuid), str(erased.data_key.owner)
    old_master = crypto.load_master_key(instance / "master.key")
    assert crypto.unwrap_data_key(old_master, copy, school_uuid, owner)  # the copy works with the old key
    purge(instance)
    for args in (("rotate-key",), ("rotate-key", "--finish")):
        done = run_flask(instance, *args)
        assert done.returncode == 0, done.stderr
    new_master = crypto.load_master_key(instance / "master.key")
    assert new_master.key_id != old_master.key_id
    with pytest.raises(crypto.CryptoError):
        crypto.unwrap_data_key(new_master, copy, school_uuid, owner)
    close_connections(app)
    again = make_app(instance, monkeypatch)
    with again.app_context():
        assert verify.first_break() is None
        live = db.session.scalars(select(DataKey).where(DataKey.key_id != keys.ERASED)).all()
        assert live and {row.key_id for row in live} == {new_master.key_id}
        assert db.session.scalar(select(func.count()).select_from(DataKey).where(DataKey.key_id == keys.ERASED)) == 3
        db.session.remove()
        db.engine.dispose()


def test_the_audit_of_erasures_is_for_the_admin_and_the_director(
    app: Flask, instance: Path, client: FlaskClient, factory: Factory, world: World
) -> None:
    purge(instance)
    for role, status in ((Role.ADMIN, 200), (Role.DIRECTOR, 200), (Role.PEDAGOGUE, 403), (Role.COMMISSION, 403)):
        device = factory.device(role, world.school)
        answer = client.get("/api/v1/audit/erasures", headers={"Authorization": f"Bearer {device.token}"})
        assert answer.status_code == status, role
        if status == 200:
            assert len(answer.get_json()["erasures"]) == 2  # its own school's only
    assert found_in_database(app, world.canaries) == []


def test_migration_0007_runs_on_a_populated_database(app: Flask, runner: FlaskCliRunner, world: World) -> None:
    """Down to 0006 and up again with letters in the database: the migration only adds, so SQLite never has
    to rebuild the ``appeals`` table that events and reads point at."""
    down = runner.invoke(args=["db", "downgrade", "0006"])
    assert down.exit_code == 0, (down.output, down.exception)
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, (up.output, up.exception)
    with app.app_context():
        db.session.remove()
        assert verify.first_break() is None
        assert db.session.scalar(select(func.count()).select_from(Appeal)) == len(world.cases)


@pytest.fixture(autouse=True)
def _no_leftover_connections(app: Flask) -> Iterator[None]:
    yield
    close_connections(app)
