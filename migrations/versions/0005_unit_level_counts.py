"""Per-unit level counts kept by a trigger: cohort alpha over many rounds without grouping every score.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COUNT_NEW_ROW = """
    INSERT INTO unit_level_count (round_id, anchor_id, criterion_id, level_value, n)
    SELECT s.round_id, s.anchor_id, NEW.criterion_id, NEW.level_value, 1
    FROM score_sheet AS s WHERE s.id = NEW.sheet_id
    ON CONFLICT (round_id, anchor_id, criterion_id, level_value) DO UPDATE SET n = unit_level_count.n + 1
"""


def upgrade() -> None:
    op.create_table(
        "unit_level_count",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("level_value", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["anchor.id"], name=op.f("fk_unit_level_count_anchor_id_anchor")
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"], ["criterion.id"], name=op.f("fk_unit_level_count_criterion_id_criterion")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_unit_level_count_round_id_round")),
        sa.PrimaryKeyConstraint(
            "round_id", "anchor_id", "criterion_id", "level_value", name=op.f("pk_unit_level_count")
        ),
    )
    # Scores already stored (criterion scores are never updated or deleted, so inserts are all there is).
    op.execute(
        "INSERT INTO unit_level_count (round_id, anchor_id, criterion_id, level_value, n) "
        "SELECT s.round_id, s.anchor_id, c.criterion_id, c.level_value, COUNT(*) "
        "FROM criterion_score AS c JOIN score_sheet AS s ON s.id = c.sheet_id "
        "GROUP BY s.round_id, s.anchor_id, c.criterion_id, c.level_value"
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER criterion_score_count AFTER INSERT ON criterion_score BEGIN"
            + _COUNT_NEW_ROW
            + "; END"
        )
    else:
        op.execute(
            "CREATE FUNCTION criterion_score_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            + _COUNT_NEW_ROW
            + "; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER criterion_score_count AFTER INSERT ON criterion_score "
            "FOR EACH ROW EXECUTE FUNCTION criterion_score_count()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS criterion_score_count")
    else:
        op.execute("DROP TRIGGER IF EXISTS criterion_score_count ON criterion_score")
        op.execute("DROP FUNCTION IF EXISTS criterion_score_count()")
    op.drop_table("unit_level_count")
