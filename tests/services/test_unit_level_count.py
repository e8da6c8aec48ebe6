"""``unit_level_count`` is kept by a database trigger: it always equals a GROUP BY over the scores."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from calibration.db.migrate import downgrade, upgrade
from calibration.models import CriterionScore, ScoreSheet
from calibration.models.scoring import UnitLevelCount
from calibration.services.errors import AlreadyRecorded

from ..factories import submit


def grouped(db) -> dict[tuple[int, int, int, int], int]:  # type: ignore[no-untyped-def]
    rows = db.execute(
        select(
            ScoreSheet.round_id,
            ScoreSheet.anchor_id,
            CriterionScore.criterion_id,
            CriterionScore.level_value,
            func.count(),
        )
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .group_by(
            ScoreSheet.round_id, ScoreSheet.anchor_id, CriterionScore.criterion_id, CriterionScore.level_value
        )
    ).all()
    return {tuple(r[:4]): r[4] for r in rows}


def kept(db) -> dict[tuple[int, int, int, int], int]:  # type: ignore[no-untyped-def]
    rows = db.execute(
        select(
            UnitLevelCount.round_id,
            UnitLevelCount.anchor_id,
            UnitLevelCount.criterion_id,
            UnitLevelCount.level_value,
            UnitLevelCount.n,
        ).where(UnitLevelCount.n > 0)  # a correction can leave a zero where a level was
    ).all()
    return {tuple(r[:4]): r[4] for r in rows}


def test_counts_follow_every_submission_and_ignore_a_refused_double_submit(db, world):
    assert kept(db) == grouped(db) == {}
    key = world.keys[world.anchors[0]]
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 0, levels=[min(level + 1, 4) for level in key])
    submit(db, world, "assessor", 1)
    expected = grouped(db)
    assert sum(expected.values()) == 3 * len(world.criteria)
    assert kept(db) == expected
    with pytest.raises(AlreadyRecorded):
        submit(db, world, "assessor", 0)
    db.rollback()
    assert kept(db) == expected


def test_the_migration_counts_scores_stored_before_it(db, world, owner_database_url):
    """Downgrade below 0005 and upgrade again: the table is rebuilt from the stored scores."""
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 1)
    expected = grouped(db)
    db.close()
    db.get_bind().dispose()
    downgrade(owner_database_url, "0004")  # as the owner (the app's role may not); the app's
    upgrade(owner_database_url)  # role can use the rebuilt table at once (default privileges)
    assert kept(db) == expected
    submit(db, world, "assessor", 2)  # and the trigger is back
    assert kept(db) == grouped(db)
