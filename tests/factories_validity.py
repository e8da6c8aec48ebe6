"""Validity items for tests: fresh keyed anchors no one has met, and program rules that let many
items through."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from calibration.models import Program, RubricVersion

from .factories import World, make_anchor


def fresh_anchors(db: Any, world: World, n: int, *, title: str = "Live anchor") -> list[int]:
    """``n`` active calibration anchors with keys (levels cycle 1..4), in no round; commits."""
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    n_criteria = len(rubric.criteria)
    ids = []
    for i in range(n):
        key = [1 + (i + c) % 3 for c in range(n_criteria)]  # 1..3, so +1 always fits the scale
        anchor = make_anchor(
            db, program, rubric, title=f"{title} {i + 1}", key_levels=key,
            rationale_prefix="Live rationale", evidence=f"Live evidence {i + 1}.",
        )  # fmt: skip
        ids.append(anchor.id)
    db.commit()
    return ids


def set_validity_rules(db: Any, program_id: int, **rules: Any) -> None:
    program = db.scalar(select(Program).where(Program.id == program_id))
    stored = json.loads(program.settings_json or "{}")
    stored["validity"] = {**stored.get("validity", {}), **rules}
    program.settings_json = json.dumps(stored)
    db.commit()


def key_of(db: Any, anchor_id: int) -> dict[str, int]:
    from calibration.models import AnchorKeyEntry, AnchorKeyVersion, Criterion

    rows = db.execute(
        select(Criterion.key, AnchorKeyEntry.level_value)
        .join(AnchorKeyEntry, AnchorKeyEntry.criterion_id == Criterion.id)
        .join(AnchorKeyVersion, AnchorKeyVersion.id == AnchorKeyEntry.key_version_id)
        .where(AnchorKeyVersion.anchor_id == anchor_id)
    ).all()
    return dict(rows)
