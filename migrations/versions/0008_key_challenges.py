"""Key challenges: an assessor questions one criterion of a master key; the lead trainer answers
(the key stands, with a reason, or a newer key version is linked).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:16:17.505643
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("key_version_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("argument", sa.Text(), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open", "key_stands", "key_changed", name="challenge_status", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("new_key_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["anchor_id"], ["anchor.id"], name=op.f("fk_key_challenge_anchor_id_anchor")),
        sa.ForeignKeyConstraint(
            ["assessor_id"], ["user_account.id"], name=op.f("fk_key_challenge_assessor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"], ["criterion.id"], name=op.f("fk_key_challenge_criterion_id_criterion")
        ),
        sa.ForeignKeyConstraint(
            ["key_version_id"],
            ["anchor_key_version.id"],
            name=op.f("fk_key_challenge_key_version_id_anchor_key_version"),
        ),
        sa.ForeignKeyConstraint(
            ["new_key_version_id"],
            ["anchor_key_version.id"],
            name=op.f("fk_key_challenge_new_key_version_id_anchor_key_version"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_key_challenge_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["user_account.id"], name=op.f("fk_key_challenge_resolved_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"], ["score_sheet.id"], name=op.f("fk_key_challenge_sheet_id_score_sheet")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_challenge")),
        sa.UniqueConstraint("sheet_id", "criterion_id", name=op.f("uq_key_challenge_sheet_id_criterion_id")),
    )
    with op.batch_alter_table("key_challenge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_challenge_anchor_id"), ["anchor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_key_challenge_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_key_challenge_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("key_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_challenge_status"))
        batch_op.drop_index(batch_op.f("ix_key_challenge_program_id"))
        batch_op.drop_index(batch_op.f("ix_key_challenge_anchor_id"))

    op.drop_table("key_challenge")
