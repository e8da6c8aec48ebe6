"""The audit chain's head: one row holding the newest hash, locked by each append.

On PostgreSQL an append used to take an advisory lock, read the newest hash, insert, and commit:
four round trips under the lock that every writer waits for. With the head in a row, updating the
head and inserting the new audit row are one statement, and the row lock is the chain's lock.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT prev_hash, hash FROM audit_event ORDER BY id DESC LIMIT 1")).first()
    bind.execute(
        sa.text("INSERT INTO audit_chain_head (id, prev_hash, last_hash) VALUES (1, :prev, :last)"),
        {"prev": last[0] if last else None, "last": last[1] if last else GENESIS},
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
