"""Program API tokens and the API's rate-limit counts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 22:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("scopes", sa.String(length=120), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_api_token_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_api_token_program_id_program")),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["user_account.id"], name=op.f("fk_api_token_revoked_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_program_id"), ["program_id"], unique=False)

    op.create_table(
        "api_rate_window",
        sa.Column("bucket", sa.String(length=80), nullable=False),
        sa.Column("window_start", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_api_rate_window")),
    )


def downgrade() -> None:
    op.drop_table("api_rate_window")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_program_id"))
    op.drop_table("api_token")
