"""Indexes for the figures of a district: appeals by school and date received, and the case work.

The dashboard, the monthly report and a district's figures all read a school's appeals received in a
period (``figures.counts_of_schools``). Without this index PostgreSQL reads every appeal of the school
through another ``school_id`` index and filters the dates; with 1,000 schools of 1,000 appeals it reads
only the period's. The referrals and measures of those letters are then read by appeal through a
partial index of just those event types (docs/BENCHMARKS.md, "A district of a million appeals"). Only
adds: runs on a populated database.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

CASE_WORK_EVENTS = "type IN ('appeal.referred', 'appeal.measure_recorded')"

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_appeals_school_received", "appeals", ["school_id", "received_on"], unique=False)
    op.create_index(
        "ix_events_case_work",
        "events",
        ["appeal_id"],
        unique=False,
        postgresql_where=sa.text(CASE_WORK_EVENTS),
        sqlite_where=sa.text(CASE_WORK_EVENTS),
    )


def downgrade():
    op.drop_index("ix_events_case_work", table_name="events")
    op.drop_index("ix_appeals_school_received", table_name="appeals")
