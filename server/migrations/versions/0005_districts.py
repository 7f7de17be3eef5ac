"""Districts: schools linked to a district, and district viewers who belong to no school.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('pedagogue', 'commission', 'director', 'admin')"
ROLES_AFTER = "role IN ('pedagogue', 'commission', 'director', 'admin', 'district')"
BELONGS = (
    "(role = 'district' AND district_id IS NOT NULL AND school_id IS NULL)"
    " OR (role <> 'district' AND school_id IS NOT NULL AND district_id IS NULL)"
)


def upgrade():
    op.create_table(
        "districts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_districts")),
        sa.UniqueConstraint("uuid", name=op.f("uq_districts_uuid")),
    )
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_schools_district_id"), ["district_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_schools_district_id_districts"), "districts", ["district_id"], ["id"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district_id", sa.Integer(), nullable=True))
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_users_district_id"), ["district_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_users_district_id_districts"), "districts", ["district_id"], ["id"])
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role"), ROLES_AFTER)
        batch_op.create_check_constraint(batch_op.f("ck_users_belongs"), BELONGS)
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_belongs"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role"), ROLES_BEFORE)
        batch_op.drop_constraint(batch_op.f("fk_users_district_id_districts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_district_id"))
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("district_id")
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_schools_district_id_districts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_schools_district_id"))
        batch_op.drop_column("district_id")
    op.drop_table("districts")
