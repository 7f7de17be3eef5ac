"""A letter's case work on its row: ``appeals.case_marks``, so the figures read no events.

The figures counted each letter's referrals and measures by probing its events (``ix_events_case_work``),
42,000 probes for a district's autumn, a third of its time (docs/BENCHMARKS.md). The journal now keeps
the same marks on the appeal's row as it records the events (``journal.case_marks``); this fills them in
for the letters recorded before, from their events, and drops the partial index that only those probes
used. Only adds a nullable column: runs on a populated database.

The marks are written out here rather than imported: a migration must mean the same whatever the code
becomes. ``flask verify`` checks every row's marks against its events.

Revision ID: 0009
Revises: 0008
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REFERRED_EVENT, MEASURE_EVENT = "appeal.referred", "appeal.measure_recorded"
CASE_WORK_EVENTS = f"type IN ('{REFERRED_EVENT}', '{MEASURE_EVENT}')"
BATCH = 1000

events = sa.table(
    "events",
    sa.column("appeal_id", sa.Integer),
    sa.column("type", sa.String),
    sa.column("meta", sa.JSON),
    sa.column("position", sa.Integer),
)
appeals = sa.table("appeals", sa.column("id", sa.Integer), sa.column("case_marks", sa.Text))


def _marks(referrals, kinds):
    """As ``journal.case_marks`` (revision 0009): referrals first, then the measures' kinds in order."""
    return "".join(f"|{mark}|" for mark in ["!"] * referrals + kinds) or None


def upgrade():
    op.add_column("appeals", sa.Column("case_marks", sa.Text(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(events.c.appeal_id, events.c.type, events.c.meta)
        .where(events.c.type.in_([REFERRED_EVENT, MEASURE_EVENT]), events.c.appeal_id.is_not(None))
        .order_by(events.c.appeal_id, events.c.position)
    ).all()
    referrals: dict[int, int] = defaultdict(int)
    kinds: dict[int, list[str]] = defaultdict(list)
    for appeal_id, event_type, meta in rows:
        if event_type == REFERRED_EVENT:
            referrals[appeal_id] += 1
        else:
            kinds[appeal_id].append(str((meta or {}).get("kind")))
    update = appeals.update().where(appeals.c.id == sa.bindparam("appeal")).values(case_marks=sa.bindparam("marks"))
    pending = [
        {"appeal": appeal_id, "marks": _marks(referrals[appeal_id], kinds[appeal_id])}
        for appeal_id in sorted(referrals.keys() | kinds.keys())
    ]
    for start in range(0, len(pending), BATCH):
        connection.execute(update, pending[start : start + BATCH])
    op.drop_index("ix_events_case_work", table_name="events")


def downgrade():
    op.create_index(
        "ix_events_case_work",
        "events",
        ["appeal_id"],
        unique=False,
        postgresql_where=sa.text(CASE_WORK_EVENTS),
        sqlite_where=sa.text(CASE_WORK_EVENTS),
    )
    op.drop_column("appeals", "case_marks")
