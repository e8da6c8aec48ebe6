"""Background jobs (the job table and the queue's PostgreSQL tables) and webhooks.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 00:14:22.719739
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "huey_counter",
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("queue", "key", name=op.f("pk_huey_counter")),
    )
    op.create_table(
        "huey_kv",
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("queue", "key", name=op.f("pk_huey_kv")),
    )
    op.create_table(
        "huey_schedule",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("timestamp", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_huey_schedule")),
    )
    with op.batch_alter_table("huey_schedule", schema=None) as batch_op:
        batch_op.create_index("huey_schedule_queue_timestamp", ["queue", "timestamp"], unique=False)

    op.create_table(
        "huey_task",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("priority", sa.Double(), server_default=sa.text("(0.0)"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_huey_task")),
    )
    with op.batch_alter_table("huey_task", schema=None) as batch_op:
        batch_op.create_index("huey_task_queue_priority_id", ["queue", "priority", "id"], unique=False)

    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("queued", "running", "done", "dead", name="job_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("dispatched_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("locked_by", sa.String(length=120), nullable=True),
        sa.Column("lease_until", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("started_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("finished_at", calibration.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_job_dedupe_key")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_program_id"), ["program_id"], unique=False)
        batch_op.create_index("ix_job_status_run_after", ["status", "run_after"], unique=False)

    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("event_types", sa.String(length=200), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_hint", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("secret_rotated_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("disabled_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_webhook_endpoint_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_webhook_endpoint_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_endpoint_program_id"), ["program_id"], unique=False)

    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("msg_id", sa.String(length=60), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "succeeded", "failed", name="webhook_delivery_status", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("succeeded_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_endpoint_id_webhook_endpoint"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_webhook_delivery_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_webhook_delivery_msg_id")),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_delivery_endpoint_id_id", ["endpoint_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_delivery_program_id"), ["program_id"], unique=False)

    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_delivery.id"],
            name=op.f("fk_webhook_attempt_delivery_id_webhook_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempt_delivery_id"), ["delivery_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempt_delivery_id"))

    op.drop_table("webhook_attempt")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_program_id"))
        batch_op.drop_index("ix_webhook_delivery_endpoint_id_id")

    op.drop_table("webhook_delivery")
    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_endpoint_program_id"))

    op.drop_table("webhook_endpoint")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_status_run_after")
        batch_op.drop_index(batch_op.f("ix_job_program_id"))

    op.drop_table("job")
    with op.batch_alter_table("huey_task", schema=None) as batch_op:
        batch_op.drop_index("huey_task_queue_priority_id")

    op.drop_table("huey_task")
    with op.batch_alter_table("huey_schedule", schema=None) as batch_op:
        batch_op.drop_index("huey_schedule_queue_timestamp")

    op.drop_table("huey_schedule")
    op.drop_table("huey_kv")
    op.drop_table("huey_counter")
