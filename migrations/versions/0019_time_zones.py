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
    # Plain ADD/DROP COLUMN (SQLite 3.35+ too): a batch copy of ``program`` or ``user_account``
    # would trip the foreign keys of every row that points at them.
    op.add_column(
        "program", sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
    )
    op.add_column("user_account", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("user_account", "timezone")
    op.drop_column("program", "timezone")
