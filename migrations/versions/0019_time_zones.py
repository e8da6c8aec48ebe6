"""Time zones: each program's (IANA name, "UTC" for existing programs) and an assessor's own (optional).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("program") as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False))
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("timezone")
    with op.batch_alter_table("program") as batch_op:
        batch_op.drop_column("timezone")
