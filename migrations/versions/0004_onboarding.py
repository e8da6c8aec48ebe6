"""Onboarding and certification: single-use account tokens (stored as SHA-256 only), qualification
results with the trainer's decision, and sent notices keyed uniquely so nothing is sent twice.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:50:25.733061
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("invitation", "password_reset", name="token_purpose", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_account_token_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_account_token_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_account_token_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_token_token_hash")),
    )
    with op.batch_alter_table("account_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_token_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "sent_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("claimed_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_sent_notice_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_notice")),
        sa.UniqueConstraint("key", name=op.f("uq_sent_notice_key")),
    )
    with op.batch_alter_table("sent_notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sent_notice_user_id"), ["user_id"], unique=False)

    op.create_table(
        "qualification_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("pass", "fail", "too_few", name="qualification_outcome", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("checks_json", sa.Text(), nullable=False),
        sa.Column("decided_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column(
            "trainer_decision",
            sa.Enum("approve", "extend", "end", name="trainer_decision", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("trainer_reason", sa.Text(), nullable=True),
        sa.Column("trainer_id", sa.Integer(), nullable=True),
        sa.Column("trainer_decided_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_qualification_result_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["round.id"], name=op.f("fk_qualification_result_round_id_round")
        ),
        sa.ForeignKeyConstraint(
            ["trainer_id"], ["user_account.id"], name=op.f("fk_qualification_result_trainer_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_qualification_result_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualification_result")),
        sa.UniqueConstraint("round_id", "user_id", name=op.f("uq_qualification_result_round_id_user_id")),
    )
    with op.batch_alter_table("qualification_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qualification_result_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qualification_result_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qualification_result_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qualification_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualification_result_user_id"))
        batch_op.drop_index(batch_op.f("ix_qualification_result_round_id"))
        batch_op.drop_index(batch_op.f("ix_qualification_result_program_id"))

    op.drop_table("qualification_result")
    with op.batch_alter_table("sent_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_notice_user_id"))

    op.drop_table("sent_notice")
    with op.batch_alter_table("account_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_account_token_program_id"))

    op.drop_table("account_token")
