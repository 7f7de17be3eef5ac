"""One slip, one letter: ``appeals.receipt_digest``, each letter's receipt code as a keyed digest.

A registration or correction giving a receipt code another letter of the school holds is refused
(``server/services/receipts.py``). The rows keep the code's HMAC-SHA256 under the school's index key, a
data key wrapped by the master key under the owner uuid5(INDEX_NAMESPACE, school uuid), indexed by
(school, digest). This fills the digests in for the letters recorded before: each letter not erased is
opened with its data key, and a school with a code gets its index key. The app's keyring is at hand
(``flask db upgrade`` runs in the app, which will not start on encrypted data without its master key);
without one (no app) nothing is filled in, and those letters hold no code as far as the check goes.
Only adds a nullable column: runs on a populated database.

The namespace and the digest are written out here rather than imported: a migration must mean the same
whatever the code becomes.

Revision ID: 0011
Revises: 0010
"""

import datetime as dt
import hashlib
import hmac
import uuid

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX_NAMESPACE = uuid.UUID("5d0c9a3e-7f41-4b8e-9c2a-6e1f0b7d4a19")  # receipts.INDEX_NAMESPACE
RECEIPT_CONTEXT = b"ishenim/receipt-code/v1"  # crypto.RECEIPT_CONTEXT
CONTENTS_FIELD = "contents"  # kinds.appeal.CONTENTS_FIELD
KEYRING = "ishenim.keyring"  # keys.EXTENSION

schools = sa.table("schools", sa.column("id", sa.Integer), sa.column("uuid", sa.Uuid))
data_keys = sa.table(
    "data_keys",
    sa.column("id", sa.Integer),
    sa.column("school_id", sa.Integer),
    sa.column("owner", sa.Uuid),
    sa.column("key_id", sa.String),
    sa.column("wrapped", sa.LargeBinary),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
appeals = sa.table(
    "appeals",
    sa.column("id", sa.Integer),
    sa.column("uuid", sa.Uuid),
    sa.column("school_id", sa.Integer),
    sa.column("data_key_id", sa.Integer),
    sa.column("contents", sa.LargeBinary),
    sa.column("erased_at", sa.DateTime(timezone=True)),
    sa.column("receipt_digest", sa.String),
)


def _backfill(connection):
    from server import crypto  # the primitives only; what is derived from them is written out above

    live = current_app.extensions.get(KEYRING)
    if live is None:
        return
    ring = live.get(0)
    rows = connection.execute(
        sa.select(appeals.c.id, appeals.c.uuid, appeals.c.contents, schools.c.id, schools.c.uuid)
        .add_columns(data_keys.c.key_id, data_keys.c.wrapped, data_keys.c.owner)
        .join(schools, schools.c.id == appeals.c.school_id)
        .join(data_keys, data_keys.c.id == appeals.c.data_key_id)
        .where(appeals.c.erased_at.is_(None))
        .order_by(appeals.c.id)
    ).all()
    index_keys = {}
    for appeal_id, appeal_uuid, contents, school_id, school_uuid, key_id, wrapped, owner in rows:
        key = crypto.unwrap_data_key(ring.get(key_id), bytes(wrapped), str(school_uuid), str(owner))
        code = crypto.open_json(key, bytes(contents), str(school_uuid), str(appeal_uuid), CONTENTS_FIELD)[
            "receipt_code"
        ]
        if code is None:
            continue
        if school_id not in index_keys:
            index_keys[school_id] = crypto.new_data_key()
            index_owner = uuid.uuid5(INDEX_NAMESPACE, str(school_uuid))
            connection.execute(
                data_keys.insert().values(
                    school_id=school_id,
                    owner=index_owner,
                    key_id=ring.current.key_id,
                    wrapped=crypto.wrap_data_key(
                        ring.current, index_keys[school_id], str(school_uuid), str(index_owner)
                    ),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        digest = hmac.new(index_keys[school_id], RECEIPT_CONTEXT + code.encode(), hashlib.sha256).hexdigest()
        connection.execute(appeals.update().where(appeals.c.id == appeal_id).values(receipt_digest=digest))


def upgrade():
    op.add_column("appeals", sa.Column("receipt_digest", sa.String(length=64), nullable=True))
    op.create_index("ix_appeals_school_receipt", "appeals", ["school_id", "receipt_digest"], unique=False)
    _backfill(op.get_bind())


def downgrade():
    connection = op.get_bind()
    owners = [uuid.uuid5(INDEX_NAMESPACE, str(school)) for school in connection.scalars(sa.select(schools.c.uuid))]
    if owners:
        connection.execute(data_keys.delete().where(data_keys.c.owner.in_(owners)))
    op.drop_index("ix_appeals_school_receipt", table_name="appeals")
    op.drop_column("appeals", "receipt_digest")
