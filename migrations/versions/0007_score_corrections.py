"""Score corrections: new linked records with a reason, never updated or deleted; the database
checks each one follows its score and moves one count in ``unit_level_count``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:34:43.590116
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# A correction must name its score's own sheet, round and criterion, be the next step (seq) of that
# score's corrections, start from the score's effective level, and carry its level's value. Raw SQL
# cannot write a correction that would make the counts or the history disagree with the scores.
_BROKEN = """
    NOT EXISTS (
        SELECT 1 FROM criterion_score AS c JOIN score_sheet AS s ON s.id = c.sheet_id
        WHERE c.id = NEW.criterion_score_id AND c.sheet_id = NEW.sheet_id
          AND s.round_id = NEW.round_id AND c.criterion_id = NEW.criterion_id)
    OR NEW.seq <> 1 + COALESCE(
        (SELECT MAX(seq) FROM score_correction WHERE criterion_score_id = NEW.criterion_score_id), 0)
    OR NEW.previous_level_value <> COALESCE(
        (SELECT level_value FROM score_correction WHERE criterion_score_id = NEW.criterion_score_id
         ORDER BY seq DESC LIMIT 1),
        (SELECT level_value FROM criterion_score WHERE id = NEW.criterion_score_id))
    OR NEW.level_value IS DISTINCT FROM (SELECT value FROM level WHERE id = NEW.level_id)
"""

_MOVE_COUNT = """
    UPDATE unit_level_count SET n = n - 1
    WHERE round_id = NEW.round_id
      AND anchor_id = (SELECT anchor_id FROM score_sheet WHERE id = NEW.sheet_id)
      AND criterion_id = NEW.criterion_id AND level_value = NEW.previous_level_value;
    INSERT INTO unit_level_count (round_id, anchor_id, criterion_id, level_value, n)
    SELECT NEW.round_id, s.anchor_id, NEW.criterion_id, NEW.level_value, 1
    FROM score_sheet AS s WHERE s.id = NEW.sheet_id
    ON CONFLICT (round_id, anchor_id, criterion_id, level_value) DO UPDATE SET n = unit_level_count.n + 1;
"""

_RECOUNT = [
    "DELETE FROM unit_level_count",
    "INSERT INTO unit_level_count (round_id, anchor_id, criterion_id, level_value, n) "
    "SELECT s.round_id, s.anchor_id, c.criterion_id, c.level_value, COUNT(*) "
    "FROM criterion_score AS c JOIN score_sheet AS s ON s.id = c.sheet_id "
    "GROUP BY s.round_id, s.anchor_id, c.criterion_id, c.level_value",
]


def upgrade() -> None:
    op.create_table(
        "score_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("criterion_score_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("previous_level_value", sa.Integer(), nullable=False),
        sa.Column("level_id", sa.Integer(), nullable=False),
        sa.Column("level_value", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by_id", sa.Integer(), nullable=False),
        sa.Column("corrected_at", calibration.db.UTCDateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "level_value <> previous_level_value", name=op.f("ck_score_correction_changes_level")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_score_correction_seq_from_one")),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"],
            ["user_account.id"],
            name=op.f("fk_score_correction_corrected_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"], ["criterion.id"], name=op.f("fk_score_correction_criterion_id_criterion")
        ),
        sa.ForeignKeyConstraint(
            ["criterion_score_id"],
            ["criterion_score.id"],
            name=op.f("fk_score_correction_criterion_score_id_criterion_score"),
        ),
        sa.ForeignKeyConstraint(["level_id"], ["level.id"], name=op.f("fk_score_correction_level_id_level")),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_score_correction_round_id_round")),
        sa.ForeignKeyConstraint(
            ["sheet_id"], ["score_sheet.id"], name=op.f("fk_score_correction_sheet_id_score_sheet")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_correction")),
        sa.UniqueConstraint(
            "criterion_score_id", "seq", name=op.f("uq_score_correction_criterion_score_id_seq")
        ),
    )
    with op.batch_alter_table("score_correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_score_correction_round_id"), ["round_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_score_correction_sheet_id"), ["sheet_id"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER score_correction_no_{verb.lower()} BEFORE {verb} ON score_correction "
                "BEGIN SELECT RAISE(ABORT, 'score_correction rows are immutable'); END"
            )
        op.execute(
            "CREATE TRIGGER score_correction_follows BEFORE INSERT ON score_correction WHEN"
            + _BROKEN
            + "BEGIN SELECT RAISE(ABORT, 'score_correction does not follow its score'); END"
        )
        op.execute(
            "CREATE TRIGGER score_correction_count AFTER INSERT ON score_correction BEGIN"
            + _MOVE_COUNT
            + " END"
        )
        return
    # calibration_forbid_change() is migration 0001's: it refuses any change to an immutable row.
    op.execute(
        "CREATE TRIGGER score_correction_immutable BEFORE UPDATE OR DELETE ON score_correction "
        "FOR EACH ROW EXECUTE FUNCTION calibration_forbid_change()"
    )
    op.execute(
        "CREATE TRIGGER score_correction_no_truncate BEFORE TRUNCATE ON score_correction "
        "FOR EACH STATEMENT EXECUTE FUNCTION calibration_forbid_change()"
    )
    op.execute(
        "CREATE FUNCTION score_correction_follows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF"
        + _BROKEN
        + "THEN RAISE EXCEPTION 'score_correction does not follow its score' "
        "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER score_correction_follows BEFORE INSERT ON score_correction "
        "FOR EACH ROW EXECUTE FUNCTION score_correction_follows()"
    )
    op.execute(
        "CREATE FUNCTION score_correction_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        + _MOVE_COUNT
        + " RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER score_correction_count AFTER INSERT ON score_correction "
        "FOR EACH ROW EXECUTE FUNCTION score_correction_count()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("no_update", "no_delete", "follows", "count"):
            op.execute(f"DROP TRIGGER IF EXISTS score_correction_{name}")
    else:
        for name in ("immutable", "no_truncate", "follows", "count"):
            op.execute(f"DROP TRIGGER IF EXISTS score_correction_{name} ON score_correction")
        op.execute("DROP FUNCTION IF EXISTS score_correction_follows()")
        op.execute("DROP FUNCTION IF EXISTS score_correction_count()")
    with op.batch_alter_table("score_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_correction_sheet_id"))
        batch_op.drop_index(batch_op.f("ix_score_correction_round_id"))
    op.drop_table("score_correction")
    # Without the corrections the counts are the original scores' again.
    for statement in _RECOUNT:
        op.execute(statement)
