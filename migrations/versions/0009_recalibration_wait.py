"""Recalibrations waiting for anchors: a confirmed flag whose round of unseen anchors cannot be
assembled yet is kept, with its shortfall, until it can start.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 16:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recalibration_wait",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("rubric_version_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("waiting", "started", "withdrawn", name="wait_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("shortfall_json", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("checked_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("recalibration_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["drift_flag.id"], name=op.f("fk_recalibration_wait_flag_id_drift_flag")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_recalibration_wait_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["recalibration_id"],
            ["recalibration.id"],
            name=op.f("fk_recalibration_wait_recalibration_id_recalibration"),
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_version.id"],
            name=op.f("fk_recalibration_wait_rubric_version_id_rubric_version"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_recalibration_wait_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recalibration_wait")),
    )
    with op.batch_alter_table("recalibration_wait", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recalibration_wait_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recalibration_wait_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_recalibration_wait_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recalibration_wait", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recalibration_wait_user_id"))
        batch_op.drop_index(batch_op.f("ix_recalibration_wait_status"))
        batch_op.drop_index(batch_op.f("ix_recalibration_wait_program_id"))

    op.drop_table("recalibration_wait")
