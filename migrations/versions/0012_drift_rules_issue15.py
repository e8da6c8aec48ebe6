"""Flag rules of issue 15: drift from the assessor's own level, lean, and cohort level.

``drift_flag.rule`` is a non-native enum (a VARCHAR without a check constraint), so the new values
need no change of the stored schema; the column's type is restated with them. Going down removes the
flags of the new rules (the older code cannot read them), after detaching the recalibrations and
waits that point at them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD = ("pass_rule", "ewma", "accuracy_drop", "cohort", "expiry")
NEW = (*OLD, "own_drift", "lean", "cohort_level")


def _rule(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="flag_rule", native_enum=False, length=32)


def upgrade() -> None:
    with op.batch_alter_table("drift_flag") as batch:
        batch.alter_column("rule", existing_type=_rule(OLD), type_=_rule(NEW), existing_nullable=False)


def downgrade() -> None:
    new_only = sa.text("SELECT id FROM drift_flag WHERE rule IN ('own_drift', 'lean', 'cohort_level')")
    for table in ("recalibration", "recalibration_wait"):
        op.execute(f"UPDATE {table} SET flag_id = NULL WHERE flag_id IN ({new_only.text})")
    op.execute("DELETE FROM drift_flag WHERE rule IN ('own_drift', 'lean', 'cohort_level')")
    with op.batch_alter_table("drift_flag") as batch:
        batch.alter_column("rule", existing_type=_rule(NEW), type_=_rule(OLD), existing_nullable=False)
