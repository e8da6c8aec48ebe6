"""Validity anchors seeded into live work: one row per anchor served to an assessor's live queue.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

FINAL = "('answered', 'expired')"


def upgrade() -> None:
    op.create_table(
        "validity_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("key_version_id", sa.Integer(), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("assigned", "answered", "expired", name="validity_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("assigned_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("answered_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("scored_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("expired_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("levels_json", sa.Text(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("answer_request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["anchor.id"], name=op.f("fk_validity_assignment_anchor_id_anchor")
        ),
        sa.ForeignKeyConstraint(
            ["assessor_id"],
            ["user_account.id"],
            name=op.f("fk_validity_assignment_assessor_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["key_version_id"],
            ["anchor_key_version.id"],
            name=op.f("fk_validity_assignment_key_version_id_anchor_key_version"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_validity_assignment_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_version.id"],
            name=op.f("fk_validity_assignment_rubric_version_id_rubric_version"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_token.id"], name=op.f("fk_validity_assignment_token_id_api_token")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validity_assignment")),
        sa.UniqueConstraint(
            "assessor_id", "anchor_id", name=op.f("uq_validity_assignment_assessor_id_anchor_id")
        ),
        sa.UniqueConstraint(
            "program_id", "external_ref", name=op.f("uq_validity_assignment_program_id_external_ref")
        ),
    )
    with op.batch_alter_table("validity_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_validity_assignment_anchor_id"), ["anchor_id"], unique=False)
        batch_op.create_index(
            "ix_validity_assignment_assessor_assigned_at", ["assessor_id", "assigned_at"], unique=False
        )
        batch_op.create_index("ix_validity_assignment_program_status", ["program_id", "status"], unique=False)

    # An answered or expired assignment is final; no assignment is ever deleted (an unanswered one
    # is reported as expired, never dropped).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER validity_assignment_final BEFORE UPDATE ON validity_assignment "
            f"WHEN OLD.status IN {FINAL} "
            "BEGIN SELECT RAISE(ABORT, 'validity_assignment rows are immutable once final'); END"
        )
        op.execute(
            "CREATE TRIGGER validity_assignment_no_delete BEFORE DELETE ON validity_assignment "
            "BEGIN SELECT RAISE(ABORT, 'validity_assignment rows are immutable'); END"
        )
    else:
        # A function of its own: a table guarded by calibration_forbid_change() is append-only to
        # create-app-role (SELECT and INSERT only), and an assignment must be updated once, when
        # it is answered or expires.
        op.execute(
            "CREATE FUNCTION calibration_forbid_final_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% rows are immutable once final', TG_TABLE_NAME "
            "USING ERRCODE = 'restrict_violation'; END $$"
        )
        op.execute(
            "CREATE TRIGGER validity_assignment_final BEFORE UPDATE ON validity_assignment "
            f"FOR EACH ROW WHEN (OLD.status IN {FINAL}) EXECUTE FUNCTION calibration_forbid_final_change()"
        )
        op.execute(
            "CREATE TRIGGER validity_assignment_no_delete BEFORE DELETE ON validity_assignment "
            "FOR EACH ROW EXECUTE FUNCTION calibration_forbid_final_change()"
        )
        op.execute(
            "CREATE TRIGGER validity_assignment_no_truncate BEFORE TRUNCATE ON validity_assignment "
            "FOR EACH STATEMENT EXECUTE FUNCTION calibration_forbid_final_change()"
        )


def downgrade() -> None:
    with op.batch_alter_table("validity_assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_validity_assignment_program_status")
        batch_op.drop_index("ix_validity_assignment_assessor_assigned_at")
        batch_op.drop_index(batch_op.f("ix_validity_assignment_anchor_id"))
    op.drop_table("validity_assignment")  # its triggers go with it
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS calibration_forbid_final_change()")
