"""Operational ratings imported from live scoring, their imports, and which stream a flag's evidence came from.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 00:09:44.735044
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operational_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum("upload", "api", "cli", name="import_source", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("upload_path", sa.String(length=500), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "checking",
                "storing",
                "done",
                "rejected",
                "failed",
                name="import_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_checked", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_already", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors_json", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("started_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("finished_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_operational_import_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_operational_import_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_version.id"],
            name=op.f("fk_operational_import_rubric_version_id_rubric_version"),
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_token.id"], name=op.f("fk_operational_import_token_id_api_token")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operational_import")),
    )
    with op.batch_alter_table("operational_import", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operational_import_content_sha256"), ["content_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_operational_import_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_operational_import_status"), ["status"], unique=False)

    op.create_table(
        "operational_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("external_submission_id", sa.String(length=200), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("read_number", sa.Integer(), nullable=False),
        sa.Column("scored_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("stored_at", calibration.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessor_id"], ["user_account.id"], name=op.f("fk_operational_rating_assessor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"], ["criterion.id"], name=op.f("fk_operational_rating_criterion_id_criterion")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["operational_import.id"],
            name=op.f("fk_operational_rating_import_id_operational_import"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_operational_rating_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_version.id"],
            name=op.f("fk_operational_rating_rubric_version_id_rubric_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operational_rating")),
        sa.UniqueConstraint(
            "program_id",
            "external_submission_id",
            "criterion_id",
            "read_number",
            name=op.f("uq_operational_rating_program_id_external_submission_id_criterion_id_read_number"),
        ),
    )
    with op.batch_alter_table("operational_rating", schema=None) as batch_op:
        batch_op.create_index(
            "ix_operational_rating_assessor_scored_at", ["assessor_id", "scored_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_operational_rating_import_id"), ["import_id"], unique=False)
        batch_op.create_index(
            "ix_operational_rating_program_scored_at", ["program_id", "scored_at"], unique=False
        )

    # Every flag raised so far came from calibration rounds.
    with op.batch_alter_table("drift_flag", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "stream",
                sa.Enum(
                    "calibration",
                    "operational",
                    "validity",
                    name="evidence_stream",
                    native_enum=False,
                    length=32,
                ),
                server_default="calibration",
                nullable=False,
            )
        )

    # Like score sheets: a stored operational rating is never updated or deleted.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER operational_rating_no_{verb.lower()} BEFORE {verb} ON operational_rating "
                "BEGIN SELECT RAISE(ABORT, 'operational_rating rows are immutable'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER operational_rating_immutable BEFORE UPDATE OR DELETE ON operational_rating "
            "FOR EACH ROW EXECUTE FUNCTION calibration_forbid_change()"
        )
        op.execute(
            "CREATE TRIGGER operational_rating_no_truncate BEFORE TRUNCATE ON operational_rating "
            "FOR EACH STATEMENT EXECUTE FUNCTION calibration_forbid_change()"
        )


def downgrade() -> None:
    # A plain DROP COLUMN: a batch copy of ``drift_flag`` would trip the rows that point at it.
    op.execute("ALTER TABLE drift_flag DROP COLUMN stream")

    with op.batch_alter_table("operational_rating", schema=None) as batch_op:
        batch_op.drop_index("ix_operational_rating_program_scored_at")
        batch_op.drop_index(batch_op.f("ix_operational_rating_import_id"))
        batch_op.drop_index("ix_operational_rating_assessor_scored_at")

    op.drop_table("operational_rating")  # its triggers go with it
    with op.batch_alter_table("operational_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operational_import_status"))
        batch_op.drop_index(batch_op.f("ix_operational_import_program_id"))
        batch_op.drop_index(batch_op.f("ix_operational_import_content_sha256"))

    op.drop_table("operational_import")
