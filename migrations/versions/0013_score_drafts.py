"""Score drafts: an assessor's unsubmitted levels and notes, one row per assessor, round, anchor.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("saved_at", calibration.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["anchor.id"], name=op.f("fk_score_draft_anchor_id_anchor"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assessor_id"],
            ["user_account.id"],
            name=op.f("fk_score_draft_assessor_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["round.id"], name=op.f("fk_score_draft_round_id_round"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_draft")),
        sa.UniqueConstraint(
            "assessor_id", "round_id", "anchor_id", name=op.f("uq_score_draft_assessor_id_round_id_anchor_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("score_draft")
