"""The monthly information presented is a report everywhere: the table ``presentations`` becomes ``reports``.

The wire called it a report (``report.presented``, entity ``report``) while the table and the code called it
a presentation; now one name. Every constraint and index is renamed with the table, as a fresh database
names them. PostgreSQL renames in place (with the id's sequence). SQLite keeps a constraint's name only in
the table's text, so the table is built again under its new name and its rows copied: no other table
points at it, so this runs on a populated database. Nothing else changes.

The table is written out here rather than imported: a migration must mean the same whatever the code
becomes.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("id", "uuid", "school_id", "month", "recorded_by_id", "recorded_at", "version", "change_no")
# Each name, as the naming convention (server/db.py) spells it, with "{}" for the table's name.
CONSTRAINTS = (
    "pk_{}",
    "uq_{}_school_id_month",
    "uq_{}_uuid",
    "fk_{}_recorded_by_id_users",
    "fk_{}_school_id_schools",
)
INDEX = "ix_{}_school_change"


def _rename_in_place(old, new):
    op.rename_table(old, new)
    for constraint in CONSTRAINTS:
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {constraint.format(old)} TO {constraint.format(new)}")
    op.execute(f"ALTER INDEX {INDEX.format(old)} RENAME TO {INDEX.format(new)}")
    op.execute(f"ALTER SEQUENCE IF EXISTS {old}_id_seq RENAME TO {new}_id_seq")


def _build_again(old, new):
    op.create_table(
        new,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_no", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=f"fk_{new}_recorded_by_id_users"),
        sa.ForeignKeyConstraint(["school_id"], ["schools.id"], name=f"fk_{new}_school_id_schools"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{new}"),
        sa.UniqueConstraint("school_id", "month", name=f"uq_{new}_school_id_month"),
        sa.UniqueConstraint("uuid", name=f"uq_{new}_uuid"),
    )
    columns = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {old}")
    op.drop_index(INDEX.format(old), table_name=old)
    op.drop_table(old)
    op.create_index(INDEX.format(new), new, ["school_id", "change_no"], unique=False)


def _move(old, new):
    if op.get_bind().dialect.name == "postgresql":
        _rename_in_place(old, new)
    else:
        _build_again(old, new)


def upgrade():
    _move("presentations", "reports")


def downgrade():
    _move("reports", "presentations")
