"""A small test-data factory: schools, accounts, logged-in devices and letters (received on the school's today)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from server.db import db
from server.models import School
from server.services import accounts
from sync.client import Outbox, SyncClient, Transport
from sync.events import Role
from tests.clock import school_today

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


def test_client_transport(client: FlaskClient) -> Transport:
    def send(method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        response = client.open(path, method=method, json=body, headers=headers)
        return response.status_code, response.get_json(silent=True)

    return send


def registration(**overrides: Any) -> dict[str, Any]:
    """``appeal.registered`` data for a signed letter from a student, received today."""
    data: dict[str, Any] = {
        "received_on": school_today().isoformat(),
        "opening_id": None,
        "applicant": {
            "anonymous": False,
            "full_name": "Асель Маматова",
            "age": 13,
            "role": "student",
            "grade": "7Б",
            "address": "ул. Примерная, 1",
            "phone": "+996 555 000 000",
        },
        "summary": "Одноклассники отбирают деньги на обед.",
        "text": None,
        "category": "bullying",
        "urgent": False,
        "receipt_code": None,
    }
    data.update(overrides)
    return data


def anonymous_registration(**overrides: Any) -> dict[str, Any]:
    applicant = {
        "anonymous": True,
        "full_name": None,
        "age": None,
        "role": "unknown",
        "grade": None,
        "address": None,
        "phone": None,
    }
    return registration(applicant=applicant, **overrides)


class Factory:
    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.transport = test_client_transport(client)

    def school(self, name: str = "School No. 1") -> School:
        with self.app.app_context():
            school = accounts.create_school(name)
            db.session.commit()
            db.session.refresh(school)
            db.session.expunge(school)
            return school

    def user(self, school: School, role: Role | str = Role.PEDAGOGUE, password: str = PASSWORD) -> str:
        username = f"{Role(role).value}{next(_numbers)}"
        with self.app.app_context():
            row = db.session.get(School, school.id)
            assert row is not None
            accounts.create_user(row, Role(role), username, f"Test {username}", password)
            db.session.commit()
        return username

    def device(self, role: Role | str = Role.PEDAGOGUE, school: School | None = None) -> SyncClient:
        """A logged-in device of a new user with ``role`` (in a new school unless one is given)."""
        school = school or self.school()
        client = SyncClient(self.transport)
        client.login(self.user(school, role), PASSWORD)
        return client

    def district(self, *schools: School, name: str = "District No. 1") -> tuple[SyncClient, str]:
        """A district holding ``schools`` and a logged-in device of its viewer; returns it and the district's id."""
        username = f"district{next(_numbers)}"
        with self.app.app_context():
            district = accounts.create_district(name)
            for school in schools:
                row = db.session.get(School, school.id)
                assert row is not None
                row.district_id = district.id
            accounts.create_district_user(district, username, f"Test {username}", PASSWORD)
            district_id = str(district.uuid)
            db.session.commit()
        client = SyncClient(self.transport)
        client.login(username, PASSWORD)
        return client, district_id

    def register(self, client: SyncClient, outbox: Outbox | None = None, count: int = 1, **overrides: Any) -> Outbox:
        """Queue and push ``count`` registrations; returns the outbox holding their results."""
        outbox = outbox or Outbox()
        for _ in range(count):
            outbox.add("appeal.registered", str(uuid.uuid4()), registration(**overrides))
        outbox.flush(client)
        return outbox


test_client_transport.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
