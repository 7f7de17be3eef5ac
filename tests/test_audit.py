"""The audit trail of reads: every letter decrypted for someone is an entry (who, which letter, when),
chained per school, listed as the deliveries of each pull, filtered and exported for the admin and the
director, and checked by ``verify``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, update

from server.db import db
from server.models import Read, School
from server.services import verify
from sync.client import SyncClient
from sync.events import Role
from tests.clock import school_today
from tests.factory import Factory

CANARY = "Audit-canary-K9"


def audit_list(client: FlaskClient, device: SyncClient, path: str, query: str = "") -> tuple[int, Any]:
    response = client.get(f"/api/v1/audit/{path}{query}", headers={"Authorization": f"Bearer {device.token}"})
    return response.status_code, response.get_json() if response.is_json else response.get_data(as_text=True)


def reads(client: FlaskClient, device: SyncClient, query: str = "") -> tuple[int, Any]:
    """The deliveries, one entry per letter delivered (as ``reads``), or the CSV as it came."""
    status, body = audit_list(client, device, "deliveries", query)
    if not isinstance(body, dict) or "deliveries" not in body:
        return status, body
    letters = [
        {"delivered_at": d["delivered_at"], "user": d["user"], "device": d["device"], **letter}
        for d in body["deliveries"]
        for letter in d["letters"]
    ]
    return status, {"reads": letters}


def test_each_decrypted_letter_is_one_entry_and_metadata_alone_is_none(app: Flask, client, factory: Factory) -> None:
    school = factory.school()
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(pedagogue, count=3, summary=f"Letter {CANARY}")
    admin = factory.device(Role.ADMIN, school)
    assert reads(client, admin)[1] == {"reads": []}  # registering is not reading

    _, cursor = pedagogue.pull_all()
    status, body = reads(client, admin)
    assert status == 200
    assert sorted(entry["serial_no"] for entry in body["reads"]) == [1, 2, 3]
    assert {entry["user"]["role"] for entry in body["reads"]} == {"pedagogue"}
    pedagogue.pull_all(cursor=cursor)  # nothing new: nothing read
    assert len(reads(client, admin)[1]["reads"]) == 3

    factory.device(Role.DIRECTOR, school).pull_all()  # metadata only by default: no entry
    factory.device(Role.COMMISSION, school).pull_all()
    assert len(reads(client, admin)[1]["reads"]) == 6
    with app.app_context():
        db.session.execute(update(School).where(School.id == school.id).values(director_reads_contents=True))
        db.session.commit()
    director = factory.device(Role.DIRECTOR, school)
    director.pull_all()
    status, body = reads(client, director)
    assert status == 200 and [e["user"]["role"] for e in body["reads"][:3]] == ["director"] * 3
    assert CANARY not in str(body)
    with app.app_context():
        assert verify.first_break() is None


def test_entries_are_filtered_by_user_and_period_and_exported_as_csv(app: Flask, client, factory: Factory) -> None:
    school = factory.school()
    first, second = factory.device(Role.PEDAGOGUE, school), factory.device(Role.COMMISSION, school)
    factory.register(first, count=2)
    first.pull_all()
    second.pull_all()
    admin = factory.device(Role.ADMIN, school)
    everyone = reads(client, admin)[1]["reads"]
    assert len(everyone) == 4
    commission_id = next(e["user"]["id"] for e in everyone if e["user"]["role"] == "commission")
    assert {e["user"]["role"] for e in reads(client, admin, f"?user={commission_id}")[1]["reads"]} == {"commission"}
    today = school_today()
    assert (
        len(reads(client, admin, f"?from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}")[1]["reads"])
        == 4
    )
    assert reads(client, admin, "?from=2020-01-01&to=2020-12-31")[1] == {"reads": []}
    assert reads(client, admin, "?from=2021-01-02&to=2021-01-01")[0] == 422
    assert reads(client, admin, "?user=not-a-uuid")[0] == 422

    status, body = audit_list(client, admin, "deliveries")
    assert [len(d["letters"]) for d in body["deliveries"]] == [2, 2]  # one delivery per pull
    assert body["deliveries"][0]["device"]["id"] == second.device_id  # newest first

    status, text = reads(client, admin, "?format=csv")
    assert status == 200
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "delivered_at",
        "user_id",
        "user_full_name",
        "user_role",
        "device_id",
        "device_name",
        "letters",
    ]
    year = body["deliveries"][0]["letters"][0]["school_year"]
    assert [row[6] for row in rows[1:]] == [f"1/{year} 2/{year}"] * 2


def test_a_period_out_to_the_ends_of_the_calendar_is_answered(app: Flask, client, factory: Factory) -> None:
    """The first and last days a date can name once overflowed turning into moments (500s found by fuzzing)."""
    school = factory.school()
    pedagogue = factory.device(Role.PEDAGOGUE, school)
    factory.register(pedagogue, count=2)
    pedagogue.pull_all()
    admin = factory.device(Role.ADMIN, school)
    for query, count in [
        ("?from=0001-01-01", 2),
        ("?to=9999-12-31", 2),
        ("?from=0001-01-01&to=9999-12-31", 2),
        ("?from=9999-12-31", 0),
        ("?to=0001-01-01", 0),
    ]:
        status, body = reads(client, admin, query)
        assert (status, len(body["reads"])) == (200, count), query
    assert reads(client, admin, "?from=0001-01-01&to=9999-12-31&format=csv")[0] == 200


def test_verify_names_an_altered_or_missing_read(app: Flask, factory: Factory, runner: FlaskCliRunner) -> None:
    school = factory.school()
    device = factory.device(Role.PEDAGOGUE, school)
    factory.register(device, count=2)
    device.pull_all()
    with app.app_context():
        db.session.execute(
            update(Read).where(Read.position == 1).values(read_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
        db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1 and "read 1" in result.output
    with app.app_context():
        db.session.execute(delete(Read).where(Read.position == 1))
        db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1 and "read" in result.output
