"""A district of 1,000 schools × 1,000 appeals (1,000,000) on PostgreSQL: the figures stay within budget.

PostgreSQL only: a district is never served from SQLite. The URL comes from ``ISHENIM_BENCH_POSTGRES``
(``make bench`` sets it from ``.ci/postgres``, which starts the local cluster) or from ``DATABASE_URL``
when that names PostgreSQL. Without either the benchmark FAILS with a message saying so: a budget that
silently went unmeasured would read as one that held.

The data is made by SQL (``generate_series``) in a database of its own, created for the run from the
migrated schema and dropped at the end. Every row is shaped as the journal writes it: a ``data_keys``
row per appeal (its owner the appeal's uuid), the ``appeals`` row with its metadata, and the events the
figures read (``appeal.registered`` for each, ``appeal.referred`` and ``appeal.measure_recorded`` on a
share of them) with their readable ``meta``. The sealed parts (``appeals.contents``, ``events.sealed``,
``data_keys.wrapped``) are filler bytes of the sizes a real registration has (384, 288 and 60 bytes):
the figures read metadata only and never decrypt, so only the size of the rows matters to them. The
hash chain is not a real one (``flask verify`` would refuse it) and ``receipts`` are not written, as no
figure reads either. Letters are spread evenly over five school years (2021-09-01 to 2026-11-20), about
200 a school a year; statuses follow age (old letters answered or closed, recent ones open).
"""

# The SQL below is built from this module's own constants, never from input:
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import gc
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.pool import NullPool

from benchmarks.budget import figure, percentile, timings
from server.db import db
from server.models import School
from server.services import figures
from server.services.accounts import hash_password
from sync.events import APPLICANT_ROLES, CATEGORIES, MEASURE_KINDS
from tests.conftest import make_app
from tests.factory import PASSWORD

SCHOOLS = 1000
APPEALS_PER_SCHOOL = 1000
FIRST_DAY = dt.date(2021, 9, 1)
LAST_DAY = dt.date(2026, 11, 20)
SCHOOL_BUDGET_MS = 100.0  # p95 of a school's dashboard, and of its monthly report
DISTRICT_BUDGET_MS = 500.0  # p95 of the district's figures over its 1,000 schools
DIRECTORS = 5  # the dashboard is timed for several schools in turn, not one school's cached answer

SERVER_URL = os.environ.get("ISHENIM_BENCH_POSTGRES") or (
    os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else ""
)


def _sql_list(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


# One statement per table; ``g`` numbers the appeals 1..1,000,000, school ``(g-1)/1000 + 1``. Pseudo-random
# choices come from multiplicative hashes of ``g``, so every run makes the same district.
SEED = [
    "INSERT INTO districts (id, uuid, name, created_at) VALUES (1, md5('district')::uuid, 'District', now())",
    f"""INSERT INTO schools (id, uuid, name, district_id, timezone, director_reads_contents, settings, chain_head,
        chain_length, reads_head, reads_length, last_change_no, created_at)
      SELECT s, md5('school' || s)::uuid, 'School No. ' || s, 1, 'Asia/Bishkek', false, '{{}}', repeat('0', 64),
        0, repeat('0', 64), 0, 0, now()
      FROM generate_series(1, {SCHOOLS}) s""",
    # Each school's director (who reads the figures) and pedagogue (who registered its letters).
    f"""INSERT INTO users (id, uuid, school_id, district_id, username, full_name, role, password_hash, created_at)
      SELECT u, md5('user' || u)::uuid, (u + 1) / 2, NULL,
        CASE WHEN u % 2 = 1 THEN 'director' ELSE 'pedagogue' END || ((u + 1) / 2),
        'Staff ' || u, CASE WHEN u % 2 = 1 THEN 'director' ELSE 'pedagogue' END, :password_hash, now()
      FROM generate_series(1, {2 * SCHOOLS}) u""",
    f"""INSERT INTO users (id, uuid, school_id, district_id, username, full_name, role, password_hash, created_at)
      VALUES ({2 * SCHOOLS + 1}, md5('viewer')::uuid, NULL, 1, 'district1', 'District viewer', 'district',
        :password_hash, now())""",
    f"""INSERT INTO devices (id, uuid, school_id, user_id, name, token_hash, last_seq, created_at, expires_at)
      SELECT s, md5('device' || s)::uuid, s, 2 * s, 'tablet', md5('token' || s) || md5('hash' || s),
        {3 * APPEALS_PER_SCHOOL}, now(), now() + interval '30 days'
      FROM generate_series(1, {SCHOOLS}) s""",
    f"""CREATE TEMPORARY TABLE seed AS
      SELECT g, (g - 1) / {APPEALS_PER_SCHOOL} + 1 AS school_id, (g - 1) % {APPEALS_PER_SCHOOL} + 1 AS k,
        date '{FIRST_DAY}' + (((g - 1) % {APPEALS_PER_SCHOOL}) * {(LAST_DAY - FIRST_DAY).days}
          / {APPEALS_PER_SCHOOL - 1}) AS received_on,
        ((g::bigint * 7919) % 100)::int AS roll
      FROM generate_series(1, {SCHOOLS * APPEALS_PER_SCHOOL}) g""",
    """ALTER TABLE seed ADD COLUMN status text, ADD COLUMN answered_on date, ADD COLUMN closed_on date,
        ADD COLUMN school_year int""",
    # Old letters are mostly closed or answered; in the last month they are still being worked on.
    f"""UPDATE seed SET
        school_year = extract(year FROM received_on)::int - CASE WHEN extract(month FROM received_on) < 9
          THEN 1 ELSE 0 END,
        status = CASE
          WHEN roll < 5 THEN 'not_accepted'
          WHEN received_on > date '{LAST_DAY}' - 10 THEN CASE WHEN roll < 50 THEN 'registered' ELSE 'in_progress' END
          WHEN received_on > date '{LAST_DAY}' - 30 THEN CASE WHEN roll < 60 THEN 'in_progress' ELSE 'answered' END
          WHEN roll < 8 THEN 'in_progress' WHEN roll < 35 THEN 'answered' ELSE 'closed' END""",
    """UPDATE seed SET answered_on = received_on + 3 + roll % 15 WHERE status IN ('answered', 'closed')""",
    """UPDATE seed SET closed_on = answered_on + 5 WHERE status = 'closed'""",
    """INSERT INTO data_keys (id, school_id, owner, key_id, wrapped, created_at)
      SELECT g, school_id, md5('appeal' || g)::uuid, substr(md5('key'), 1, 16),
        decode(substr(repeat(md5('wrapped' || g), 4), 1, 120), 'hex'), received_on
      FROM seed""",
    """INSERT INTO appeals (id, uuid, school_id, data_key_id, school_year, serial_no, version, status, received_on,
        opening_id, category, urgent, anonymous, applicant_role, contents, registered_by_id, registered_at,
        updated_at, change_no, answered_on, closed_on, erased_at)
      SELECT g, md5('appeal' || g)::uuid, school_id, g, school_year,
        row_number() OVER (PARTITION BY school_id, school_year ORDER BY k), 1 + (roll % 4), status, received_on,
        NULL, (CAST(:categories AS text[]))[1 + g % :n_categories], g % 17 = 0, g % 3 = 0,
        CASE WHEN g % 3 = 0 THEN 'unknown' ELSE (CAST(:roles AS text[]))[1 + g % :n_roles] END,
        decode(repeat(md5('contents' || g), 24), 'hex'), 2 * school_id, received_on + time '10:00',
        received_on + time '10:00', 3 * k, answered_on, closed_on, NULL
      FROM seed""",
    """INSERT INTO serial_counters (school_id, school_year, last_serial)
      SELECT school_id, school_year, max(serial_no) FROM appeals GROUP BY school_id, school_year""",
    # appeal.registered for every letter; appeal.referred for a fifth of the worked-on ones, and
    # appeal.measure_recorded for a quarter. Positions and seqs are 3k-2, 3k-1, 3k: gaps where no event was.
    """INSERT INTO events (id, uuid, school_id, position, type, appeal_id, subject, device_id, user_id, seq,
        recorded_at, meta, sealed, prev_hash, hash)
      SELECT 3 * g - 2, md5('registered' || g)::uuid, s.school_id, 3 * k - 2, 'appeal.registered', g, NULL,
        s.school_id, 2 * s.school_id, 3 * k - 2, s.received_on + time '10:00',
        json_build_object('received_on', s.received_on, 'opening_id', NULL, 'category', a.category,
          'urgent', a.urgent, 'anonymous', a.anonymous, 'applicant_role', a.applicant_role,
          'serial_no', a.serial_no, 'school_year', a.school_year),
        decode(repeat(md5('sealed' || g), 18), 'hex'), md5('p' || g) || md5('q' || g), md5('h' || g) || md5('i' || g)
      FROM seed s JOIN appeals a ON a.id = s.g""",
    """INSERT INTO events (id, uuid, school_id, position, type, appeal_id, subject, device_id, user_id, seq,
        recorded_at, meta, sealed, prev_hash, hash)
      SELECT 3 * g - 1, md5('referred' || g)::uuid, school_id, 3 * k - 1, 'appeal.referred', g, NULL,
        school_id, 2 * school_id, 3 * k - 1, received_on + time '12:00',
        json_build_object('referred_on', received_on + 2, 'authority', 'social_protection', 'base_version', 1),
        decode(repeat(md5('sealed' || g), 8), 'hex'), md5('p' || g) || md5('r' || g), md5('h' || g) || md5('j' || g)
      FROM seed WHERE status NOT IN ('registered', 'not_accepted') AND g % 5 = 0""",
    """INSERT INTO events (id, uuid, school_id, position, type, appeal_id, subject, device_id, user_id, seq,
        recorded_at, meta, sealed, prev_hash, hash)
      SELECT 3 * g, md5('measure' || g)::uuid, school_id, 3 * k, 'appeal.measure_recorded', g, NULL,
        school_id, 2 * school_id, 3 * k, received_on + time '14:00',
        json_build_object('taken_on', received_on + 3, 'kind', (CAST(:measures AS text[]))[1 + g % :n_measures],
          'base_version', 2),
        decode(repeat(md5('sealed' || g), 8), 'hex'), md5('p' || g) || md5('m' || g), md5('h' || g) || md5('k' || g)
      FROM seed WHERE status IN ('answered', 'closed') AND g % 4 = 0""",
    # Each letter's case work on its row, as the journal keeps it (kinds.appeal.case_marks): referrals, then measures.
    """UPDATE appeals SET case_marks = work.marks FROM (
        SELECT appeal_id,
          string_agg(CASE WHEN type = 'appeal.referred' THEN '|!|' ELSE '|' || (meta->>'kind') || '|' END, ''
            ORDER BY type = 'appeal.measure_recorded', position) AS marks
        FROM events WHERE type IN ('appeal.referred', 'appeal.measure_recorded') GROUP BY appeal_id) work
      WHERE appeals.id = work.appeal_id""",
    f"""UPDATE schools SET last_change_no = {3 * APPEALS_PER_SCHOOL}, chain_length = {3 * APPEALS_PER_SCHOOL}""",
]


def _seed(url: str, password_hash: str) -> dict[str, int]:
    engine = create_engine(url)
    parameters: dict[str, Any] = {
        "password_hash": password_hash,
        "categories": list(CATEGORIES),
        "n_categories": len(CATEGORIES),
        "roles": [r for r in APPLICANT_ROLES if r != "unknown"],
        "n_roles": len(APPLICANT_ROLES) - 1,
        "measures": list(MEASURE_KINDS),
        "n_measures": len(MEASURE_KINDS),
    }
    with engine.begin() as conn:
        # A bulk load: foreign keys and plain indexes are dropped first and made again after, checked and
        # built in one pass each (row by row they cost most of the load). Unique constraints stay.
        foreign_keys = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
            )
        ).all()
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ).all()
        for table, name, _ in foreign_keys:
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        for statement in SEED:
            names = {k: v for k, v in parameters.items() if f":{k}" in statement}
            conn.execute(text(statement), names)
        for _, definition in indexes:
            conn.execute(text(definition))
        for table, name, definition in foreign_keys:
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        for table in ("districts", "schools", "users", "devices", "data_keys", "appeals", "events"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        # A district's server is timed in its steady state, not while it writes out the 2 GB just loaded:
        # without this the checkpointer spreads that write over the next minutes, through the timings.
        conn.execute(text("CHECKPOINT"))
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("appeals", "events")}
    engine.dispose()
    return counts


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, dict[str, int], float]]:
    if not SERVER_URL:
        pytest.fail(
            "benchmarks/test_district.py needs PostgreSQL: run `make bench` (it starts the local cluster with "
            ".ci/postgres), or set ISHENIM_BENCH_POSTGRES (or DATABASE_URL) to postgresql://…"
        )
    server = make_url(_driver(SERVER_URL))
    name = f"{server.database}_district{os.getpid()}"
    # A connection per use, none kept open in a pool for the minutes of the run: ``.ci/postgres`` (run by a
    # test run beside this one) drops the test database WITH (FORCE), which would cut a pooled connection
    # and leave this run's million appeals behind, undropped.
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    instance = tmp_path_factory.mktemp("district")
    try:
        with pytest.MonkeyPatch.context() as mp:
            app = make_app(instance, mp, SQLALCHEMY_DATABASE_URI=url)
            with app.app_context():
                upgrade()
                db.engine.dispose()
                password_hash = hash_password(PASSWORD)
            started = time.monotonic()
            counts = _seed(url, password_hash)
            seeded_in = time.monotonic() - started
            # As wsgi.py does for a served app: what the process holds so far (pytest, the app, the load's
            # leftovers) is frozen out of the collector's reach, or a full collection walks it in a request.
            gc.collect()
            gc.freeze()
            yield app, counts, seeded_in
            gc.unfreeze()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _driver(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _login(client: FlaskClient, username: str) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD, "device_name": "bench"}
    )
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _timed_get(client: FlaskClient, path: str, headers: list[dict[str, str]], rounds: int) -> list[float]:
    turn = iter(range(10**9))

    def get() -> None:
        response = client.get(path, headers=headers[next(turn) % len(headers)])
        assert response.status_code == 200, response.get_json()

    return timings(get, rounds=rounds, warmup=len(headers))


def test_district_of_a_million_appeals(district: tuple[Flask, dict[str, int], float]) -> None:
    app, counts, seeded_in = district
    assert counts["appeals"] == SCHOOLS * APPEALS_PER_SCHOOL
    client = app.test_client()
    directors = [_login(client, f"director{s}") for s in range(1, SCHOOLS + 1, SCHOOLS // DIRECTORS)]
    viewer = [_login(client, "district1")]

    context = {"schools": SCHOOLS, "appeals": counts["appeals"], "events": counts["events"]}
    figure("district.seed_seconds", seeded_in, "s", None, **context)
    dashboard = _timed_get(client, "/api/v1/dashboard", directors, rounds=50)
    report = _timed_get(client, "/api/v1/reports/monthly?month=2026-10", directors, rounds=50)
    # Forty samples, so that the nearest-rank p95 is the 38th and not the slowest: with ten it was their
    # maximum, and one request meeting a pause of the shared machine decided the figure.
    aggregate = _timed_get(client, "/api/v1/district/figures", viewer, rounds=40)

    answer = client.get("/api/v1/district/figures", headers=viewer[0]).get_json()["figures"]
    assert len(answer["schools"]) == SCHOOLS and answer["total"]["received"] > 0

    plans = _plans(app)
    for name, plan in plans.items():
        print(f"EXPLAIN {name}:\n  " + "\n  ".join(plan))
    # The index that keeps the counts cheap must be the one used, or a lost index would pass unseen until the
    # data grows past the budget: a school's period. And the case work is read from the letters' own rows:
    # no plan reads the 1.4 million events.
    for name, plan in plans.items():
        assert any("ix_appeals_school_received" in line for line in plan), (name, plan)
        assert not any(" on events " in line + " " for line in plan), (name, plan)

    ok = [
        figure(
            "district.dashboard_p95_ms", percentile(dashboard, 95), "ms", SCHOOL_BUDGET_MS,
            p50=round(percentile(dashboard, 50), 1), **context,
        ),
        figure(
            "district.monthly_report_p95_ms", percentile(report, 95), "ms", SCHOOL_BUDGET_MS,
            p50=round(percentile(report, 50), 1), **context,
        ),
        figure(
            "district.aggregate_p95_ms", percentile(aggregate, 95), "ms", DISTRICT_BUDGET_MS,
            p50=round(percentile(aggregate, 50), 1), samples=[round(ms) for ms in aggregate],
            received=answer["total"]["received"], **context,
        ),
    ]  # fmt: skip
    assert all(ok), "a district budget was missed (see the figures above)"


def _plans(app: Flask) -> dict[str, list[str]]:
    """The plans PostgreSQL chooses for the figures' own statements on the seeded district: the counting
    statements ``figures.counts_of_schools`` sends (caught as they go out) for one school's month and for
    the district's default period, explained with their parameters."""
    sent: list[tuple[str, Any]] = []

    def catch(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if "work_days" in statement and not statement.startswith("EXPLAIN"):
            sent.append((statement, parameters))

    def explained(name: str) -> list[str]:
        assert len(sent) == 1, f"{name}: {len(sent)} counting statements, one expected"
        statement, parameters = sent.pop()
        rows = db.session.connection().exec_driver_sql(f"EXPLAIN {statement}", parameters)
        plan = [row[0] for row in rows]
        db.session.rollback()
        return plan

    plans = {}
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", catch)
        try:
            figures.monthly_report(db.session.get_one(School, 7), dt.date(2026, 10, 1))
            plans["a school's month"] = explained("a school's month")
            figures.district_figures(1, dt.date(2026, 9, 1), LAST_DAY)
            plans["the district's figures"] = explained("the district's figures")
        finally:
            event.remove(db.engine, "before_cursor_execute", catch)
    return plans
