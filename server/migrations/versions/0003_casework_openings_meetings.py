"""Case work after registration, box openings (acts) and commission meetings.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_events_subject"), ["subject"], unique=False)

    op.create_table(
        "openings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("remarks", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_no", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["users.id"], name=op.f("fk_openings_acknowledged_by_id_users")),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"], name=op.f("fk_openings_data_key_id_data_keys")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_openings_recorded_by_id_users")),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_openings_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_openings")),
        sa.UniqueConstraint("uuid", name=op.f("uq_openings_uuid")),
    )
    op.create_index("ix_openings_school_change", "openings", ["school_id", "change_no"], unique=False)
    op.create_index("ix_openings_school_opened", "openings", ["school_id", "opened_at"], unique=False)

    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_no", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_meetings_recorded_by_id_users")),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_meetings_school_id_schools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("uuid", name=op.f("uq_meetings_uuid")),
    )
    op.create_index("ix_meetings_school_change", "meetings", ["school_id", "change_no"], unique=False)
    op.create_index("ix_meetings_school_held", "meetings", ["school_id", "held_on"], unique=False)


def downgrade():
    op.drop_index("ix_meetings_school_held", table_name="meetings")
    op.drop_index("ix_meetings_school_change", table_name="meetings")
    op.drop_table("meetings")
    op.drop_index("ix_openings_school_opened", table_name="openings")
    op.drop_index("ix_openings_school_change", table_name="openings")
    op.drop_table("openings")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_subject"))
        batch_op.drop_column("subject")
    with op.batch_alter_table("appeals", schema=None) as batch_op:
        batch_op.drop_column("closed_on")
        batch_op.drop_column("answered_on")
