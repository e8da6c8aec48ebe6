"""Drift flags with their evidence, recalibrations, recalibration sessions and bookings, calendar
feed tokens (SHA-256 only).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 16:03:52.219865
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_calendar_feed_token_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_token_hash")),
    )
    with op.batch_alter_table("calendar_feed_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_feed_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "recalibration_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("trainer_id", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("scheduled", "cancelled", name="session_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_recalibration_session_capacity_positive")),
        sa.CheckConstraint("duration_minutes >= 1", name=op.f("ck_recalibration_session_duration_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_recalibration_session_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_recalibration_session_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["trainer_id"], ["user_account.id"], name=op.f("fk_recalibration_session_trainer_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recalibration_session")),
    )
    with op.batch_alter_table("recalibration_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recalibration_session_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recalibration_session_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "drift_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("criterion_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column(
            "rule",
            sa.Enum(
                "pass_rule",
                "ewma",
                "accuracy_drop",
                "cohort",
                "expiry",
                name="flag_rule",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("open", "confirmed", "dismissed", name="flag_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("direction", sa.String(length=20), nullable=True),
        sa.Column("statistic", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("window_json", sa.Text(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.Column("parameters_json", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("assessor_text", sa.Text(), nullable=False),
        sa.Column("evidence_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["criterion_id"], ["criterion.id"], name=op.f("fk_drift_flag_criterion_id_criterion")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_drift_flag_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["user_account.id"], name=op.f("fk_drift_flag_reviewed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_drift_flag_round_id_round")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_drift_flag_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_flag")),
        sa.UniqueConstraint("evidence_hash", name=op.f("uq_drift_flag_evidence_hash")),
    )
    with op.batch_alter_table("drift_flag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drift_flag_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drift_flag_user_id"), ["user_id"], unique=False)

    op.create_table(
        "recalibration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("deadline", calibration.db.UTCDateTime(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "pending",
                "passed",
                "failed",
                "too_few",
                "missed",
                name="recalibration_outcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("decided_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["drift_flag.id"], name=op.f("fk_recalibration_flag_id_drift_flag")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_recalibration_program_id_program")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_recalibration_round_id_round")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_recalibration_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recalibration")),
        sa.UniqueConstraint("round_id", "user_id", name=op.f("uq_recalibration_round_id_user_id")),
    )
    with op.batch_alter_table("recalibration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recalibration_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recalibration_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_recalibration_user_id"), ["user_id"], unique=False)

    op.create_table(
        "session_booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("recalibration_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "accepted",
                "move_requested",
                "cancelled",
                name="booking_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=120), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", calibration.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recalibration_id"],
            ["recalibration.id"],
            name=op.f("fk_session_booking_recalibration_id_recalibration"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recalibration_session.id"],
            name=op.f("fk_session_booking_session_id_recalibration_session"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_session_booking_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_booking")),
        sa.UniqueConstraint("session_id", "user_id", name=op.f("uq_session_booking_session_id_user_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_session_booking_uid")),
    )
    with op.batch_alter_table("session_booking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_booking_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_session_booking_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("session_booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_booking_user_id"))
        batch_op.drop_index(batch_op.f("ix_session_booking_session_id"))

    op.drop_table("session_booking")
    with op.batch_alter_table("recalibration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recalibration_user_id"))
        batch_op.drop_index(batch_op.f("ix_recalibration_round_id"))
        batch_op.drop_index(batch_op.f("ix_recalibration_program_id"))

    op.drop_table("recalibration")
    with op.batch_alter_table("drift_flag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drift_flag_user_id"))
        batch_op.drop_index(batch_op.f("ix_drift_flag_program_id"))

    op.drop_table("drift_flag")
    with op.batch_alter_table("recalibration_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recalibration_session_starts_at"))
        batch_op.drop_index(batch_op.f("ix_recalibration_session_program_id"))

    op.drop_table("recalibration_session")
    with op.batch_alter_table("calendar_feed_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feed_token_user_id"))

    op.drop_table("calendar_feed_token")
