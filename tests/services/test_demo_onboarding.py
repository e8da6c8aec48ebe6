"""Issue 16 items 7, 8 and 10 in the demo: practice anchors enough to teach, a new assessor with
practice and qualification assigned, round names that match their dates, and anchor titles that do
not give their key away."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from calibration.models import (
    Anchor,
    AnchorPurpose,
    Assignment,
    Program,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    User,
)
from calibration.services.demo import DEMO_SLUG, demo_round_names, seed_demo
from calibration.services.policy import PRACTICE_TRIES

from ..conftest import ROOT

# Words that judge the work: a title with one tells the assessor the key before they score.
JUDGING = re.compile(
    r"\b(strong|weak|thorough|thin|modest|ambitious|excellent|exemplary|proficient|emerging|good|poor|"
    r"great|solid|shallow|superficial|model|ideal|no follow-up|incomplete|partial|missing)\b",
    re.I,
)


def _seeded(db, now: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    assert seed_demo(db, ROOT / "rubrics", now=now).created
    db.commit()
    return int(db.scalar(select(Program.id).where(Program.slug == DEMO_SLUG)))


def test_new_assessor_has_practice_first_then_qualification(db):
    program_id = _seeded(db, dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC))
    noah = db.scalar(select(User.id).where(User.email == "new@demo.test"))
    rounds = {
        r.kind: r
        for r in db.scalars(
            select(Round).join(Assignment, Assignment.round_id == Round.id).where(Assignment.user_id == noah)
        )
    }
    assert set(rounds) == {RoundKind.PRACTICE, RoundKind.QUALIFICATION}
    practice, qualification = rounds[RoundKind.PRACTICE], rounds[RoundKind.QUALIFICATION]
    assert practice.status == qualification.status == RoundStatus.OPEN
    assert practice.practice_tries == PRACTICE_TRIES
    n_practice = db.scalar(select(func.count()).where(RoundAnchor.round_id == practice.id))
    assert n_practice >= 4
    assert db.scalar(select(func.count()).where(RoundAnchor.round_id == qualification.id)) >= 5
    # Practice on the rubric of the qualification round.
    assert practice.rubric_version_id == qualification.rubric_version_id
    # Every rubric has at least four practice anchors.
    per_rubric = dict(
        db.execute(
            select(RubricVersion.slug, func.count(Anchor.id))
            .join(Anchor, Anchor.rubric_version_id == RubricVersion.id)
            .where(Anchor.program_id == program_id, Anchor.purpose == AnchorPurpose.PRACTICE)
            .group_by(RubricVersion.slug)
        ).all()
    )
    assert len(per_rubric) == 3 and min(per_rubric.values()) >= 4, per_rubric


def test_round_names_match_their_dates_and_titles_do_not_judge(db):
    now = dt.datetime(2026, 10, 31, 9, tzinfo=dt.UTC)  # month lengths differ: names still follow the dates
    program_id = _seeded(db, now)
    names = set(demo_round_names(now).values())
    seen = db.execute(
        select(Round.name, Round.opens_at).where(
            Round.program_id == program_id, Round.kind == RoundKind.CALIBRATION
        )
    ).all()
    assert {name for name, _ in seen} == names
    for name, opens_at in seen:
        assert name.startswith(f"{opens_at:%B %Y} calibration: "), (name, opens_at)
    assert not re.search(r"\b(spring|summer|autumn|fall|winter|current)\b", " ".join(names), re.I)
    titles = db.scalars(select(Anchor.title).where(Anchor.program_id == program_id)).all()
    assert len(titles) >= 38  # every anchor file (the check is not vacuous)
    assert [t for t in titles if JUDGING.search(t)] == []
