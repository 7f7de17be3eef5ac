"""``GET /api/v1/me``: the caller, their device and the school settings a tablet keeps offline."""

from __future__ import annotations

from server.db import db
from server.models import School
from sync.events import Role
from tests.factory import PASSWORD


def test_me_gives_the_user_device_and_default_settings(factory):
    school = factory.school("School No. 5")
    device = factory.device(Role.COMMISSION, school=school)
    status, body = device.transport("GET", "/api/v1/me", None, {"Authorization": f"Bearer {device.token}"})
    assert status == 200
    assert body["device_id"] == device.device_id
    assert body["user"]["role"] == "commission" and body["user"]["school_id"] == str(school.uuid)
    assert body["school"] == {
        "id": str(school.uuid),
        "name": "School No. 5",
        "idle_lock_minutes": 10,
        "trust_phones": [],
        # The regulations' own figures: five working days, a commission of three on Fridays, weekly
        # collection, an act at least monthly.
        "week": 5,
        "due_in_days": 5,
        "days_off": [],
        "working_days": [],
        "commission_day": 4,
        "quorum": 3,
        "commission_members": [],
        "working_group": [],
        "collection_every_days": 7,
        "act_every_days": 31,
        "languages": ["ky", "ru", "en"],
        "retention_years": 5,
    }


def test_me_carries_the_schools_own_settings(app, factory):
    school = factory.school()
    phones = [{"label": "Социалдык педагог", "phone": "+996 000 000 001"}]
    with app.app_context():
        row = db.session.get(School, school.id)
        row.settings = {"idle_lock_minutes": 3, "trust_phones": phones}
        db.session.commit()
    device = factory.device(school=school)
    _status, body = device.transport("GET", "/api/v1/me", None, {"Authorization": f"Bearer {device.token}"})
    assert body["school"]["idle_lock_minutes"] == 3 and body["school"]["trust_phones"] == phones


def test_me_needs_a_token(client):
    response = client.get("/api/v1/me")
    assert (response.status_code, response.get_json()["error"]) == (401, "missing_token")


def test_demo_school_has_fictional_trust_phones(runner, client):
    result = runner.invoke(args=["seed-demo"])
    password = next(line.split()[-1] for line in result.output.splitlines() if "pedagogue" in line)
    token = client.post(
        "/api/v1/auth/token", json={"username": "pedagogue", "password": password, "device_name": "t"}
    ).get_json()["token"]
    phones = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()["school"]["trust_phones"]
    assert len(phones) == 3 and all(p["phone"].startswith("+996 000") for p in phones)
    assert PASSWORD not in result.output
