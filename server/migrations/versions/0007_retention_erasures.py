"""Retention: an appeal's erasure time, and the audit entries of erasures.

An erased case keeps its ``data_keys`` row (destroyed: ``key_id`` 'erased', ``wrapped`` empty), so
``appeals.data_key_id`` stays NOT NULL. Making it nullable would rebuild ``appeals`` on SQLite, which
refuses to drop a table that ``events`` and ``reads`` point at while foreign keys are on: this migration
only adds, so it runs on a populated database.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("appeals", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("run", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reason IN ('retention')", name=op.f("ck_erasures_reason")),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_erasures_appeal_id_appeals")),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_erasures_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
        sa.UniqueConstraint("appeal_id", name=op.f("uq_erasures_appeal_id")),
    )
    op.create_index("ix_erasures_school_erased", "erasures", ["school_id", "erased_at"], unique=False)


def downgrade():
    op.drop_index("ix_erasures_school_erased", table_name="erasures")
    op.drop_table("erasures")
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a rebuild of the table others point at.
    op.drop_column("appeals", "erased_at")
