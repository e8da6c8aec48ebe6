"""Open Badges credentials: per-program issuer keys and issued credentials with their status bit.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuer_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("public_key_multibase", sa.String(length=100), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("retired_at", calibration.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_issuer_key_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuer_key")),
        sa.UniqueConstraint(
            "program_id", "public_key_multibase", name=op.f("uq_issuer_key_program_id_public_key_multibase")
        ),
    )
    with op.batch_alter_table("issuer_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issuer_key_program_id"), ["program_id"], unique=False)

    op.create_table(
        "issued_credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("awarded_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("valid_until", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("revoked_at", calibration.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["issuer_key.id"], name=op.f("fk_issued_credential_key_id_issuer_key")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_issued_credential_program_id_program")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_issued_credential_round_id_round")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_issued_credential_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_credential")),
        sa.UniqueConstraint(
            "program_id", "status_index", name=op.f("uq_issued_credential_program_id_status_index")
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_issued_credential_public_id")),
    )
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_credential_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issued_credential_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_credential_user_id"))
        batch_op.drop_index(batch_op.f("ix_issued_credential_program_id"))
    op.drop_table("issued_credential")
    with op.batch_alter_table("issuer_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issuer_key_program_id"))
    op.drop_table("issuer_key")
