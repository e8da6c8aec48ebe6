"""Demo data: a program with people, rubrics, anchors with keys, past rounds and an open round, plus
practice and qualification anchors no demo assessor has seen, so an invited person can qualify. No
round serves an assessor an anchor whose key they read in an earlier one. Noah (new@demo.test), in
training, has the practice and qualification rounds that accepting an invitation gives. Rounds are
named after the month they opened in, and anchor titles name the setting, never the quality.

Past scores come from a seeded model: each assessor scores the key level plus their own
severity plus noise, rounded to a level. One assessor drifts lenient across rounds (a round clearly
below the pass rule), one slips in one round, and one is consistently severe (a lean: feedback, not
drift), so reports and drift views have something real to show.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    AnchorStatus,
    Assignment,
    CertificationStatus,
    CriterionScore,
    Membership,
    Program,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
    User,
)
from ..rubrics import load_rubric_dir
from . import audit, challenges, corrections, sessions
from . import drift as drift_rules
from .auth import hash_password
from .context import Member, SystemActor
from .policy import QUALIFICATION_WINDOW_DAYS
from .rubrics import import_rubrics
from .rules import DEFAULT_PROGRAM_SETTINGS, pass_rule_json
from .score_rows import keyed_scores
from .training import assign_practice_round, assign_qualification_round

DEMO_SLUG = "demo"
DEMO_PASSWORD = "calibrate-demo"
ANCHORS_FILE = Path(__file__).resolve().parent.parent / "demo" / "anchors.yaml"
# Practice and qualification anchors kept out of the demo's rounds: unseen by every demo assessor, so
# a person invited in the demo gets a practice round and a qualification round that covers every level.
TRAINING_ANCHORS_FILE = ANCHORS_FILE.with_name("training_anchors.yaml")
# The spring round's Analyzing Time anchors: the autumn round's assessors read the keys of the first
# five, and no counted round serves an anchor whose key the assessor has read (services/exposure.py).
SPRING_ANCHORS_FILE = ANCHORS_FILE.with_name("spring_anchors.yaml")

ASSESSORS = [
    ("Maya Okafor", "maya@demo.test", 0.0, 0.0),  # (name, email, severity, lenient drift per round)
    ("Daniel Reyes", "daniel@demo.test", 0.0, 0.0),
    ("Priya Nair", "priya@demo.test", 0.05, 0.0),
    ("Tom Becker", "tom@demo.test", -0.05, 0.0),
    ("Grace Lin", "grace@demo.test", 0.0, 0.0),
    ("Samuel Ortiz", "samuel@demo.test", 0.0, 1.0),  # drifts lenient
    ("Helen Walsh", "helen@demo.test", -0.75, 0.0),  # consistently severe
]
# One-off slips: (assessor's email, round index) -> extra shift in levels. Daniel misreads the winter
# rubric's descriptors, a round clearly below the pass rule (the drift rules' rule (a)).
ROUND_SLIPS = {("daniel@demo.test", 1): -1.2}
NOISE_SD = 0.45
# A demo round: (name, rubric slug, anchors with their keys, opened days ago, still open).
_PlannedRound = tuple[str, str, list[tuple[Anchor, AnchorKeyVersion]], int, bool]
# The demo's calibration rounds: (key, rubric slug, anchor file, opened days ago, still open). The
# spring file's anchors are fresh ones for a second Analyzing Time round (see SPRING_ANCHORS_FILE).
DEMO_ROUNDS: tuple[tuple[str, str, str, int, bool], ...] = (
    ("first", "analyzing-time", "anchors", 95, False),
    ("binary", "implementing-equitable-practices", "anchors", 65, False),
    ("past", "analyzing-time", "spring", 35, False),
    ("open", "applying-improvement-science", "anchors", 2, True),
)
RUBRIC_TITLES = {
    "analyzing-time": "Analyzing Time",
    "implementing-equitable-practices": "Implementing Equitable Practices",
    "applying-improvement-science": "Applying Improvement Science",
}


def demo_round_names(now: dt.datetime) -> dict[str, str]:
    """The names of the demo's calibration rounds seeded at ``now``, by key: the month each opened in
    and its rubric (for example "September 2026 calibration: Analyzing Time")."""
    now = now.replace(microsecond=0)
    return {
        key: f"{now - dt.timedelta(days=days_ago):%B %Y} calibration: {RUBRIC_TITLES[slug]}"
        for key, slug, _, days_ago, _ in DEMO_ROUNDS
    }


@dataclass(frozen=True)
class DemoLogin:
    role: str
    name: str
    email: str


@dataclass(frozen=True)
class DemoResult:
    created: bool
    logins: list[DemoLogin]
    password: str


def _logins(session: Session, program_id: int) -> list[DemoLogin]:
    rows = session.execute(
        select(Membership.role, User.name, User.email)
        .join(User, User.id == Membership.user_id)
        .where(Membership.program_id == program_id)
        .order_by(Membership.id)
    ).all()
    return [DemoLogin(role.value, name, email) for role, name, email in rows]


def seed_demo(
    session: Session, rubric_dir: Path | str, *, seed: int = 20261122, now: dt.datetime | None = None
) -> DemoResult:
    """Create the demo program once; a second call changes nothing and returns the logins."""
    existing = session.scalar(select(Program).where(Program.slug == DEMO_SLUG))
    if existing is not None:
        return DemoResult(False, _logins(session, existing.id), DEMO_PASSWORD)
    now = (now or utcnow()).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    program = Program(
        slug=DEMO_SLUG,
        name="Demo Educator Micro-credentials",
        settings_json=json.dumps(DEFAULT_PROGRAM_SETTINGS),
    )
    session.add(program)
    session.flush()
    system = SystemActor(program.id)
    password_hash = hash_password(DEMO_PASSWORD)

    def person(name: str, email: str, role: Role, status: CertificationStatus | None = None) -> User:
        user = User(email=email, name=name, password_hash=password_hash)
        session.add(user)
        session.flush()
        certified = status == CertificationStatus.CERTIFIED
        session.add(
            Membership(
                user_id=user.id,
                program_id=program.id,
                role=role,
                certification_status=status,
                certified_at=now - dt.timedelta(days=200) if certified else None,
                certification_expires_at=now + dt.timedelta(days=165) if certified else None,
            )
        )
        return user

    admin = person("Ada Admin", "admin@demo.test", Role.ADMIN)
    trainer = person("Lena Fischer", "trainer@demo.test", Role.LEAD_TRAINER)
    assessors = [person(n, e, Role.ASSESSOR, CertificationStatus.CERTIFIED) for n, e, _, _ in ASSESSORS]
    newcomer = person("Noah Kim", "new@demo.test", Role.ASSESSOR, CertificationStatus.IN_TRAINING)
    session.flush()

    import_rubrics(session, system, program.id, load_rubric_dir(rubric_dir))
    rubrics = {
        r.slug: r
        for r in session.scalars(select(RubricVersion).where(RubricVersion.program_id == program.id))
    }
    anchors_by_rubric = _create_anchors(session, ANCHORS_FILE, program.id, rubrics, trainer.id, now)
    _create_anchors(session, TRAINING_ANCHORS_FILE, program.id, rubrics, trainer.id, now)
    spring = _create_anchors(session, SPRING_ANCHORS_FILE, program.id, rubrics, trainer.id, now)

    # Every round gets anchors whose keys its assessors have not read; each is named after the month
    # it opened in, so its name always matches its dates.
    sources = {"anchors": anchors_by_rubric, "spring": spring}
    plan: list[_PlannedRound] = [
        (
            demo_round_names(now)[key],
            slug,
            sources[source][slug],
            days_ago,
            is_open,
        )
        for key, slug, source, days_ago, is_open in DEMO_ROUNDS
    ]
    created: list[Round] = []
    for index, (name, slug, anchors, days_ago, is_open) in enumerate(plan):
        rubric = rubrics[slug]
        rnd = Round(
            program_id=program.id,
            rubric_version_id=rubric.id,
            name=name,
            kind=RoundKind.CALIBRATION,
            status=RoundStatus.OPEN if is_open else RoundStatus.CLOSED,
            opens_at=now - dt.timedelta(days=days_ago),
            closes_at=now + dt.timedelta(days=21) if is_open else now - dt.timedelta(days=days_ago - 14),
            pass_rule_json=pass_rule_json(program.settings_json, len(rubric.level_values)),
            created_by_id=trainer.id,
            created_at=now - dt.timedelta(days=days_ago + 3),
        )
        session.add(rnd)
        session.flush()
        created.append(rnd)
        session.add_all(
            RoundAnchor(round_id=rnd.id, anchor_id=a.id, position=i) for i, (a, _) in enumerate(anchors)
        )
        session.add_all(Assignment(round_id=rnd.id, user_id=u.id) for u in assessors)
        session.flush()
        # In the open round the first assessor (the one the README suggests) has scored nothing yet;
        # a few colleagues are part-way through.
        for a_index, (user, (_, email, severity, drift)) in enumerate(zip(assessors, ASSESSORS, strict=True)):
            n_done = [0, 5, 3, 5, 2, 4, 0][a_index] if is_open else len(anchors)
            shift = severity + drift * index + ROUND_SLIPS.get((email, index), 0.0)
            for position, (anchor, key) in enumerate(anchors[:n_done]):
                _score(
                    session,
                    rng,
                    rnd,
                    rubric,
                    anchor,
                    key,
                    user.id,
                    shift,
                    rnd.opens_at + dt.timedelta(days=1, hours=position),
                )
    # Noah, in training, has what accepting an invitation gives: practice first, then qualification.
    window = dt.timedelta(days=QUALIFICATION_WINDOW_DAYS)
    assign_practice_round(session, system, program_id=program.id, user_id=newcomer.id, window=window)
    assign_qualification_round(session, system, program_id=program.id, user_id=newcomer.id, window=window)
    # Maya reported a slip in the spring round; the trainer corrected it, with the reason she gives.
    _correct_a_slip(
        session, Member(trainer.id, program.id, Role.LEAD_TRAINER), program.id, created[2], assessors[0]
    )
    # Tom questions a spring key; the challenge waits for the trainer's answer.
    _question_a_key(session, Member(assessors[3].id, program.id, Role.ASSESSOR), created[2])
    # A recalibration session next week for confirmed flags to be booked into.
    sessions.create_session(
        session,
        Member(trainer.id, program.id, Role.LEAD_TRAINER),
        program_id=program.id,
        title="Recalibration: reading evidence against the rubric",
        date=(now + dt.timedelta(days=7)).date(),
        time=dt.time(15, 30),
        timezone="America/Chicago",
        duration_minutes=90,
        location="Video call (the link is in the calendar invitation)",
        trainer_id=trainer.id,
        capacity=6,
        now=now,
    )
    # Flags for the trainer to review: Samuel's drift and Daniel's slip (rounds clearly below the pass
    # rule) and Helen's severity (a lean, feedback rather than a drift flag).
    drift_rules.evaluate_program(session, program.id, now=now)
    audit.record(
        session, Member(admin.id, program.id), "demo.seed", object_type="program", object_id=program.id
    )
    session.flush()
    return DemoResult(True, _logins(session, program.id), DEMO_PASSWORD)


def _create_anchors(
    session: Session,
    path: Path,
    program_id: int,
    rubrics: dict[str, RubricVersion],
    trainer_id: int,
    now: dt.datetime,
) -> dict[str, list[tuple[Anchor, AnchorKeyVersion]]]:
    """The anchors of one demo file with their version-1 keys, grouped by rubric slug in file order."""
    data: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, list[tuple[Anchor, AnchorKeyVersion]]] = {}
    for item in data:
        rubric = rubrics[item["rubric"]]
        anchor = Anchor(
            program_id=program_id,
            rubric_version_id=rubric.id,
            title=item["title"],
            evidence_md=item["evidence"],
            purpose=AnchorPurpose(item["purpose"]),
            status=AnchorStatus.ACTIVE,
            created_by_id=trainer_id,
            created_at=now - dt.timedelta(days=120),
        )
        session.add(anchor)
        session.flush()
        key = AnchorKeyVersion(
            anchor_id=anchor.id,
            version=1,
            reason="Initial key agreed by the scoring leadership team.",
            created_by_id=trainer_id,
            created_at=now - dt.timedelta(days=120),
        )
        session.add(key)
        session.flush()
        levels = {lv.value: lv.id for lv in rubric.levels}
        for criterion in rubric.criteria:
            entry = item["key"][criterion.key]
            session.add(
                AnchorKeyEntry(
                    key_version_id=key.id,
                    criterion_id=criterion.id,
                    level_id=levels[int(entry["level"])],
                    level_value=int(entry["level"]),
                    rationale=entry["rationale"],
                )
            )
        out.setdefault(rubric.slug, []).append((anchor, key))
    session.flush()
    return out


def _correct_a_slip(session: Session, actor: Member, program_id: int, rnd: Round, assessor: User) -> None:
    """Correct the assessor's first score that differs from the key, to the key's level."""
    session.flush()
    stmt, _ = keyed_scores([rnd.id], "sheet", [ScoreSheet.id, CriterionScore.criterion_id])
    rows = session.execute(
        stmt.where(
            ScoreSheet.assessor_id == assessor.id, CriterionScore.level_value != AnchorKeyEntry.level_value
        )
        .order_by(ScoreSheet.submitted_at, ScoreSheet.id, CriterionScore.id)
        .limit(1)
    ).first()
    if rows is None:
        return
    sheet_id, criterion_id, key_level, _version = rows
    corrections.correct_score(
        session,
        actor,
        program_id=program_id,
        sheet_id=sheet_id,
        criterion_id=criterion_id,
        level_value=key_level,
        reason=(
            f"{assessor.name.split()[0]} wrote the next day that she had clicked the level beside the one "
            "she meant; what she said in the debrief matches the corrected level."
        ),
    )


def _question_a_key(session: Session, actor: Member, rnd: Round) -> None:
    """The assessor questions the key on the first criterion of their first sheet in the round."""
    session.flush()
    first = session.scalar(
        select(ScoreSheet)
        .where(ScoreSheet.round_id == rnd.id, ScoreSheet.assessor_id == actor.user_id)
        .order_by(ScoreSheet.submitted_at, ScoreSheet.id)
        .limit(1)
    )
    if first is None:
        return
    challenges.raise_challenge(
        session,
        actor,
        round_id=rnd.id,
        anchor_id=first.anchor_id,
        criterion_id=first.scores[0].criterion_id,
        argument=(
            "The teacher does more than collect the data: the reflection names two changes to the schedule "
            "made because of it, which the rubric's next level describes."
        ),
    )


def _score(
    session: Session,
    rng: np.random.Generator,
    rnd: Round,
    rubric: RubricVersion,
    anchor: Anchor,
    key: AnchorKeyVersion,
    assessor_id: int,
    shift: float,
    when: dt.datetime,
) -> None:
    values = rubric.level_values
    index_of = {v: i for i, v in enumerate(values)}
    key_levels = {e.criterion_id: e.level_value for e in key.entries}
    binary = len(values) == 2
    sheet = ScoreSheet(
        round_id=rnd.id,
        anchor_id=anchor.id,
        assessor_id=assessor_id,
        key_version_id=key.id,
        notes="",
        submitted_at=when,
    )
    level_ids = {lv.value: lv.id for lv in rubric.levels}
    for criterion in rubric.criteria:
        k = index_of[key_levels[criterion.id]]
        # Binary rubrics: a severity shift changes the chance of flipping toward that side.
        latent = k + shift * (0.6 if binary else 1.0) + rng.normal(0.0, NOISE_SD * (0.8 if binary else 1.0))
        i = int(np.clip(np.rint(latent), 0, len(values) - 1))
        sheet.scores.append(
            CriterionScore(criterion_id=criterion.id, level_id=level_ids[values[i]], level_value=values[i])
        )
    session.add(sheet)
