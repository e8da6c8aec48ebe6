"""Mail outbox: each outgoing mail is a row written with the change it reports, sent after the
commit, retried with its attempts and last error recorded (shown to trainers when undelivered).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("attachments_json", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "sent", "failed", name="mail_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_outgoing_mail_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["recalibration_session.id"],
            name=op.f("fk_outgoing_mail_session_id_recalibration_session"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_outgoing_mail_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outgoing_mail_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outgoing_mail_session_id"), ["session_id"], unique=False)
        batch_op.create_index(
            "ix_outgoing_mail_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_mail_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_outgoing_mail_session_id"))
        batch_op.drop_index(batch_op.f("ix_outgoing_mail_program_id"))
    op.drop_table("outgoing_mail")
