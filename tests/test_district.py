"""A district sees its schools in aggregate only: counts per school and in total, small ones hidden, never
a name of a writer, a serial number or a word of a letter. Fifty schools, as a district hosts them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask.testing import FlaskClient
from marshmallow import Schema, fields

from server.api.district import SchoolCountsSchema
from server.db import db
from server.models import School
from server.services import figures as service
from sync.client import SyncClient
from sync.events import Role
from tests.factory import Factory, anonymous_registration
from tests.test_figures import march

CANARY = "District-canary-3F"
SCHOOLS = 50


def figures(client: FlaskClient, viewer: SyncClient, query: str = "?from=2025-03-01&to=2025-03-31") -> Any:
    response = client.get(f"/api/v1/district/figures{query}", headers={"Authorization": f"Bearer {viewer.token}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["figures"], response.get_data(as_text=True)


def test_fifty_schools_in_figures_counted_by_hand(client, factory: Factory) -> None:
    # The March of tests/test_figures.py in one school; in each of the 49 others, letters that differ by school:
    # school k (1..49) gets k % 4 anonymous letters received on 10 March 2025, nothing else done on them.
    busy = factory.school("School 00")
    march(factory, busy)
    schools: list[School] = [busy]
    expected_received = {"School 00": 5}
    for k in range(1, SCHOOLS):
        school = factory.school(f"School {k:02d}")
        schools.append(school)
        count = k % 4
        if count:
            factory.register(
                factory.device(Role.PEDAGOGUE, school),
                count=count,
                **anonymous_registration(received_on="2025-03-10", summary=f"Letter {CANARY}"),
            )
        expected_received[school.name] = count
    outside = factory.school("School of another district")
    factory.register(factory.device(Role.PEDAGOGUE, outside), received_on="2025-03-10")
    viewer, _ = factory.district(*schools)

    shown, text = figures(client, viewer)
    assert CANARY not in text and "serial_no" not in text and "Асель" not in text
    by_name = {school["name"]: school for school in shown["schools"]}
    assert sorted(by_name) == sorted(expected_received)  # the other district's school is not there
    for name, count in expected_received.items():
        assert by_name[name]["received"] == (count if count == 0 or count >= 3 else "<3"), name
    assert by_name["School 00"]["answered"] == 3 and by_name["School 00"]["anonymous"] == "<3"
    # 5 + 12 schools of each of 1, 2 and 3 letters (k = 1..48) plus k = 49 (1 letter): 5 + 12·6 + 1 = 78.
    total = shown["total"]
    assert total["received"] == 5 + 12 * (1 + 2 + 3) + 1
    # Anonymous: 2 in School 00 and every letter elsewhere; answered only in School 00.
    assert total["anonymous"] == 2 + 12 * 6 + 1
    assert (total["answered"], total["answered_on_time"], total["not_accepted"]) == (3, "<3", "<3")
    assert total["by_category"]["bullying"] == 3 + 73  # School 00's three and every other letter
    assert json.dumps(shown["total"]).count("<3") >= 1


def test_a_period_outside_the_letters_is_all_zeros(client, factory: Factory) -> None:
    school = factory.school()
    factory.register(factory.device(Role.PEDAGOGUE, school), count=4, received_on="2025-03-10")
    viewer, _ = factory.district(school)
    shown, _ = figures(client, viewer, "?from=2024-01-01&to=2024-12-31")
    assert shown["total"]["received"] == 0 and shown["schools"][0]["received"] == 0
    shown, _ = figures(client, viewer, "?from=2025-03-01&to=2025-03-31")
    assert shown["total"]["received"] == 4
    response = client.get(
        "/api/v1/district/figures?from=2025-04-01&to=2025-03-01", headers={"Authorization": f"Bearer {viewer.token}"}
    )
    assert response.status_code == 422


def test_the_schools_are_sent_as_a_field_by_field_dump_would_send_them(app, client, factory: Factory) -> None:
    """``SchoolsAsCounted`` skips marshmallow's dump of each school: the answer must be what that dump gives."""
    schools = [factory.school(f"School {n}") for n in range(3)]
    for school, count in zip(schools, (1, 2, 5), strict=True):
        factory.register(factory.device(Role.PEDAGOGUE, school), count=count, received_on="2025-03-10")
    viewer, _ = factory.district(*schools)
    shown, _ = figures(client, viewer)
    dumped_by_field = Schema.from_dict({"schools": fields.List(fields.Nested(SchoolCountsSchema))})()
    with app.app_context():
        district_id = db.session.get(School, schools[0].id).district_id
        counted = service.district_figures(district_id, dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    expected = json.loads(json.dumps(dumped_by_field.dump(counted)["schools"]))
    assert shown["schools"] == expected and len(expected) == 3
    assert sorted(str(school["received"]) for school in shown["schools"]) == ["5", "<3", "<3"]
