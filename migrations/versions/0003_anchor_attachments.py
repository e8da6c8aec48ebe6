"""Anchor attachments: evidence files stored outside static under server-generated names.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:33:04.988544
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anchor_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["anchor.id"], name=op.f("fk_anchor_attachment_anchor_id_anchor")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_anchor_attachment_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anchor_attachment")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_anchor_attachment_stored_name")),
    )
    with op.batch_alter_table("anchor_attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anchor_attachment_anchor_id"), ["anchor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("anchor_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anchor_attachment_anchor_id"))
    op.drop_table("anchor_attachment")
