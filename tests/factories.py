"""Factory helpers that build data through the services and models (plain values in, ids out)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from calibration.db import utcnow
from calibration.models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    Assignment,
    CertificationStatus,
    Membership,
    Program,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    User,
)
from calibration.rubrics import load_rubric_file
from calibration.services.auth import hash_password
from calibration.services.context import Member, SystemActor
from calibration.services.rubrics import import_rubric
from calibration.services.rules import DEFAULT_PROGRAM_SETTINGS, pass_rule_json

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-for-tests"


def make_program(session: Session, slug: str) -> Program:
    program = Program(slug=slug, name=f"Program {slug}", settings_json=json.dumps(DEFAULT_PROGRAM_SETTINGS))
    session.add(program)
    session.flush()
    return program


def make_user(session: Session, program: Program, email: str, role: Role, name: str | None = None) -> User:
    user = User(email=email, name=name or email.split("@")[0].title(), password_hash=hash_password(PASSWORD))
    session.add(user)
    session.flush()
    status = CertificationStatus.CERTIFIED if role == Role.ASSESSOR else None
    session.add(Membership(user_id=user.id, program_id=program.id, role=role, certification_status=status))
    session.flush()
    return user


def make_rubric(session: Session, program: Program, slug: str = "analyzing-time") -> RubricVersion:
    outcome = import_rubric(
        session, SystemActor(program.id), program.id, load_rubric_file(ROOT / "rubrics" / f"{slug}.yaml")
    )
    rubric = session.get(RubricVersion, outcome.rubric_version_id)
    assert rubric is not None
    return rubric


def make_anchor(
    session: Session,
    program: Program,
    rubric: RubricVersion,
    *,
    title: str,
    key_levels: list[int],
    rationale_prefix: str = "Rationale",
    evidence: str = "Evidence text.",
) -> Anchor:
    anchor = Anchor(
        program_id=program.id,
        rubric_version_id=rubric.id,
        title=title,
        evidence_md=evidence,
        purpose=AnchorPurpose.CALIBRATION,
    )
    session.add(anchor)
    session.flush()
    key = AnchorKeyVersion(anchor_id=anchor.id, version=1, reason="initial")
    session.add(key)
    session.flush()
    level_ids = {lv.value: lv.id for lv in rubric.levels}
    for criterion, level in zip(rubric.criteria, key_levels, strict=True):
        session.add(
            AnchorKeyEntry(
                key_version_id=key.id,
                criterion_id=criterion.id,
                level_id=level_ids[level],
                level_value=level,
                rationale=f"{rationale_prefix} for {title} / {criterion.key}",
            )
        )
    session.flush()
    return anchor


def make_round(
    session: Session,
    program: Program,
    rubric: RubricVersion,
    anchors: list[Anchor],
    assessors: list[User],
    *,
    name: str = "Round",
    kind: RoundKind = RoundKind.CALIBRATION,
    status: RoundStatus = RoundStatus.OPEN,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
) -> Round:
    now = utcnow()
    rnd = Round(
        program_id=program.id,
        rubric_version_id=rubric.id,
        name=name,
        kind=kind,
        status=status,
        opens_at=opens_at or now - dt.timedelta(days=1),
        closes_at=closes_at or now + dt.timedelta(days=7),
        pass_rule_json=pass_rule_json(program.settings_json),
    )
    session.add(rnd)
    session.flush()
    session.add_all(RoundAnchor(round_id=rnd.id, anchor_id=a.id, position=i) for i, a in enumerate(anchors))
    session.add_all(Assignment(round_id=rnd.id, user_id=u.id) for u in assessors)
    session.flush()
    return rnd


@dataclass
class World:
    """Two programs. Program A: admin, trainer, two assessors, 5 anchors, an open round.
    Program B: a trainer and an assessor with their own round (to prove scoping)."""

    program_a: int = 0
    program_b: int = 0
    rubric_id: int = 0
    criteria: list[int] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)
    keys: dict[int, list[int]] = field(default_factory=dict)
    round_id: int = 0
    round_b: int = 0
    anchor_b: int = 0
    other_rubric_criterion: int = 0
    emails: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    # (who, anchor index) -> id of the final sheet stored by ``submit`` (for URL-walking tests).
    sheets: dict[tuple[str, int], int] = field(default_factory=dict)


KEYS = [[3, 2, 4, 1, 3], [1, 2, 3, 4, 2], [4, 4, 3, 3, 2], [2, 3, 1, 2, 4], [3, 3, 3, 2, 1]]


def build_world(session: Session) -> World:
    w = World()
    a = make_program(session, "alpha")
    b = make_program(session, "beta")
    people = {
        "admin": make_user(session, a, "admin@a.test", Role.ADMIN),
        "trainer": make_user(session, a, "trainer@a.test", Role.LEAD_TRAINER),
        "assessor": make_user(session, a, "assessor@a.test", Role.ASSESSOR, "Asha Assessor"),
        "assessor2": make_user(session, a, "assessor2@a.test", Role.ASSESSOR, "Ben Second"),
        "trainer_b": make_user(session, b, "trainer@b.test", Role.LEAD_TRAINER),
        "assessor_b": make_user(session, b, "assessor@b.test", Role.ASSESSOR),
    }
    rubric = make_rubric(session, a)
    n_criteria = len(rubric.criteria)
    anchors = [
        make_anchor(session, a, rubric, title=f"Anchor {i + 1}", key_levels=(KEYS[i] * 2)[:n_criteria])
        for i in range(5)
    ]
    rnd = make_round(
        session, a, rubric, anchors, [people["assessor"], people["assessor2"]], name="Open round"
    )
    rubric_b = make_rubric(session, b)
    anchor_b = make_anchor(session, b, rubric_b, title="Beta anchor", key_levels=[2] * n_criteria)
    rnd_b = make_round(session, b, rubric_b, [anchor_b], [people["assessor_b"]], name="Beta round")
    other = make_rubric(session, a, "implementing-equitable-practices")
    session.commit()
    w.program_a, w.program_b = a.id, b.id
    w.rubric_id = rubric.id
    w.criteria = [c.id for c in rubric.criteria]
    w.levels = rubric.level_values
    w.anchors = [x.id for x in anchors]
    w.keys = {x.id: (KEYS[i] * 2)[:n_criteria] for i, x in enumerate(anchors)}
    w.round_id, w.round_b, w.anchor_b = rnd.id, rnd_b.id, anchor_b.id
    w.other_rubric_criterion = other.criteria[0].id
    w.emails = {k: v.email for k, v in people.items()}
    w.ids = {k: v.id for k, v in people.items()}
    return w


def score_form(world: World, levels: list[int], notes: str = "") -> dict[str, str]:
    data = {f"criterion_{c}": str(v) for c, v in zip(world.criteria, levels, strict=True)}
    data["notes"] = notes
    return data


def sheets_for(session: Session, round_id: int) -> list[tuple[int, int]]:
    from calibration.models import ScoreSheet

    return list(
        session.execute(
            select(ScoreSheet.anchor_id, ScoreSheet.assessor_id).where(ScoreSheet.round_id == round_id)
        )
    )


def submit(session: Session, world: World, who: str, anchor_index: int = 0, levels=None, notes: str = ""):  # type: ignore[no-untyped-def]
    """Submit a final sheet through the service, as ``who`` (the key's levels unless given); commits."""
    from calibration.services.scoring import submit_sheet

    anchor = world.anchors[anchor_index]
    sheet = submit_sheet(
        session,
        Member(world.ids[who], world.program_a),
        round_id=world.round_id,
        anchor_id=anchor,
        levels=dict(zip(world.criteria, levels or world.keys[anchor], strict=True)),
        notes=notes,
    )
    session.commit()
    world.sheets[(who, anchor_index)] = sheet.id
    return sheet
