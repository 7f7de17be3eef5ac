"""The audit trail of letter views and administrative actions, chained per school; the accounts' new dates.

``audit_entries`` is a chain of its own (``schools.audit_head``/``audit_length``). Users gain when their
password was last set (``password_changed_at``), who created them (``created_by_id``) and when the director
acknowledged that they exist (``access_acknowledged_at``): every account made before this migration counts
as acknowledged when it was created, so no notice appears for accounts older than the notices themselves.

Columns are only added (a plain ADD COLUMN, no rebuild of the tables that others point at), so this runs
on a populated database.

Revision ID: 0012
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
CREATED_BY_FK = "fk_users_created_by_id_users"


def _add_created_by():
    """A column pointing at users: SQLite alters no constraint, but takes a named one inline in ADD COLUMN."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE users ADD COLUMN created_by_id INTEGER CONSTRAINT {CREATED_BY_FK} REFERENCES users (id)"
        )
    else:
        op.add_column("users", sa.Column("created_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(CREATED_BY_FK, "users", "users", ["created_by_id"], ["id"])


def upgrade():
    op.add_column("schools", sa.Column("audit_head", sa.String(length=64), nullable=False, server_default=GENESIS))
    op.add_column("schools", sa.Column("audit_length", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
    _add_created_by()
    op.add_column("users", sa.Column("access_acknowledged_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET access_acknowledged_at = created_at")
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("operator", sa.String(length=100), nullable=True),
        sa.Column("appeal_id", sa.Integer(), nullable=True),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("target_device_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["appeals.id"], name=op.f("fk_audit_entries_appeal_id_appeals")),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_audit_entries_device_id_devices")),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=op.f("fk_audit_entries_school_id_schools")),
        sa.ForeignKeyConstraint(
            ["target_device_id"], ["devices.id"], name=op.f("fk_audit_entries_target_device_id_devices")
        ),
        sa.ForeignKeyConstraint(["target_user_id"], ["users.id"], name=op.f("fk_audit_entries_target_user_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_entries_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("school_id", "position", name=op.f("uq_audit_entries_school_id_position")),
        sa.UniqueConstraint("uuid", name=op.f("uq_audit_entries_uuid")),
    )
    op.create_index("ix_audit_entries_school_kind_at", "audit_entries", ["school_id", "kind", "at"], unique=False)


def downgrade():
    op.drop_index("ix_audit_entries_school_kind_at", table_name="audit_entries")
    op.drop_table("audit_entries")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+); the foreign key goes with its column.
    for column in ("access_acknowledged_at", "created_by_id", "password_changed_at"):
        op.drop_column("users", column)
    for column in ("audit_length", "audit_head"):
        op.drop_column("schools", column)
