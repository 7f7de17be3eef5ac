"""The audit trail of decrypted reads, chained per school.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade():
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reads_head", sa.String(length=64), nullable=False, server_default=GENESIS))
        batch_op.add_column(sa.Column("reads_length", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_reads_appeal_id_appeals")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_reads_device_id_devices")),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_reads_school_id_schools")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reads")),
        sa.UniqueConstraint("school_id", "position", name=op.f("uq_reads_school_id_position")),
    )
    op.create_index("ix_reads_school_time", "reads", ["school_id", "read_at"], unique=False)


def downgrade():
    op.drop_index("ix_reads_school_time", table_name="reads")
    op.drop_table("reads")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("reads_length")
        batch_op.drop_column("reads_head")
