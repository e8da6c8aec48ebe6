"""Practice tries: a per-round number of tries, and each try after the first as its own final row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rounds that exist keep one try: their practice keys may already have been shown.
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("practice_tries", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "practice_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("key_version_id", sa.Integer(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("submitted_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint("attempt >= 2", name=op.f("ck_practice_attempt_after_the_sheet")),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["anchor.id"], name=op.f("fk_practice_attempt_anchor_id_anchor")
        ),
        sa.ForeignKeyConstraint(
            ["assessor_id"], ["user_account.id"], name=op.f("fk_practice_attempt_assessor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["key_version_id"],
            ["anchor_key_version.id"],
            name=op.f("fk_practice_attempt_key_version_id_anchor_key_version"),
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_practice_attempt_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_attempt")),
        sa.UniqueConstraint(
            "round_id",
            "anchor_id",
            "assessor_id",
            "attempt",
            name=op.f("uq_practice_attempt_round_id_anchor_id_assessor_id_attempt"),
        ),
    )
    with op.batch_alter_table("practice_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practice_attempt_assessor_id"), ["assessor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_practice_attempt_round_id"), ["round_id"], unique=False)
    # Like score sheets: a try, once stored, is never updated or deleted (migration 0001's function).
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER practice_attempt_no_{verb.lower()} BEFORE {verb} ON practice_attempt "
                "BEGIN SELECT RAISE(ABORT, 'practice_attempt rows are immutable'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER practice_attempt_immutable BEFORE UPDATE OR DELETE ON practice_attempt "
            "FOR EACH ROW EXECUTE FUNCTION calibration_forbid_change()"
        )
        op.execute(
            "CREATE TRIGGER practice_attempt_no_truncate BEFORE TRUNCATE ON practice_attempt "
            "FOR EACH STATEMENT EXECUTE FUNCTION calibration_forbid_change()"
        )


def downgrade() -> None:
    with op.batch_alter_table("practice_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practice_attempt_round_id"))
        batch_op.drop_index(batch_op.f("ix_practice_attempt_assessor_id"))
    op.drop_table("practice_attempt")  # its triggers go with it
    # A plain DROP COLUMN (SQLite 3.35+ too): a batch copy of ``round`` would trip the foreign keys
    # of every row that points at a round.
    op.execute('ALTER TABLE "round" DROP COLUMN practice_tries')
