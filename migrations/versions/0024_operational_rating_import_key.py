"""One foreign key from an operational rating to its import, program and rubric version together.

A rating's program and rubric version are its import's (every row of an import shares them), so
three foreign keys, each checked on every inserted row, become one composite key to
``operational_import (id, program_id, rubric_version_id)``: the same integrity (the import, and
through it the program and the rubric version, exist) and more (the rating's program and version
are its import's), with one check per row instead of three. On PostgreSQL those checks were about
half the time of storing an import's rows.

The ``(assessor_id, scored_at)`` index goes: no query reads ratings by assessor (the operational
report and the drift stream read a program's rows by time, through ``(program_id, scored_at)``),
and keeping it up to date was a quarter of SQLite's time to insert a row.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 03:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

IMPORT_KEY = "uq_operational_import_id_program_id_rubric_version_id"
SINGLE = (
    ("program_id", "program", "fk_operational_rating_program_id_program"),
    ("import_id", "operational_import", "fk_operational_rating_import_id_operational_import"),
    ("rubric_version_id", "rubric_version", "fk_operational_rating_rubric_version_id_rubric_version"),
)
COMPOSITE = "fk_operational_rating_import_id_operational_import"
BY_ASSESSOR = "ix_operational_rating_assessor_scored_at"


def _immutable_again() -> None:
    """SQLite's batch copy drops the table's triggers with the old table: put them back."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER operational_rating_no_{verb.lower()} BEFORE {verb} ON operational_rating "
                "BEGIN SELECT RAISE(ABORT, 'operational_rating rows are immutable'); END"
            )


def upgrade() -> None:
    # A unique index (not a constraint): SQLite adds it in place, without copying the table that
    # operational_rating refers to.
    op.create_index(IMPORT_KEY, "operational_import", ["id", "program_id", "rubric_version_id"], unique=True)
    with op.batch_alter_table("operational_rating", schema=None) as batch_op:
        for _column, _table, name in SINGLE:
            batch_op.drop_constraint(name, type_="foreignkey")
        batch_op.create_foreign_key(
            COMPOSITE,
            "operational_import",
            ["import_id", "program_id", "rubric_version_id"],
            ["id", "program_id", "rubric_version_id"],
        )
        batch_op.drop_index(BY_ASSESSOR)
    _immutable_again()


def downgrade() -> None:
    with op.batch_alter_table("operational_rating", schema=None) as batch_op:
        batch_op.create_index(BY_ASSESSOR, ["assessor_id", "scored_at"], unique=False)
        batch_op.drop_constraint(COMPOSITE, type_="foreignkey")
        for column, table, name in SINGLE:
            batch_op.create_foreign_key(name, table, [column], ["id"])
    _immutable_again()
    op.drop_index(IMPORT_KEY, table_name="operational_import")
