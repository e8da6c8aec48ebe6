"""The certified pool's sigma as each drift evaluation estimated it (the control charts' baseline).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pool_sigma_estimate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("per_sheet", sa.Float(), nullable=True),
        sa.Column("by_criterion_json", sa.Text(), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.Column("n_sheets", sa.Integer(), nullable=False),
        sa.Column("n_scores", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("round_ids_json", sa.Text(), nullable=False),
        sa.Column("assessor_ids_json", sa.Text(), nullable=False),
        sa.Column("last_sheet_id", sa.Integer(), nullable=True),
        sa.Column("last_correction_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", calibration.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_pool_sigma_estimate_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_version.id"],
            name=op.f("fk_pool_sigma_estimate_rubric_version_id_rubric_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_sigma_estimate")),
    )
    with op.batch_alter_table("pool_sigma_estimate", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pool_sigma_estimate_latest", ["program_id", "rubric_version_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pool_sigma_estimate", schema=None) as batch_op:
        batch_op.drop_index("ix_pool_sigma_estimate_latest")
    op.drop_table("pool_sigma_estimate")
