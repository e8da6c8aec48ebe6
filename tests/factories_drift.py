"""Factories for drift tests: a seeded history of closed calibration rounds (bulk-inserted sheets),
fresh calibration anchors for recalibration rounds, and sessions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from calibration.db import utcnow
from calibration.models import Program, Role, RoundKind, RoundStatus, RubricVersion, User
from calibration.services.context import Member

from .factories import World, make_anchor, make_round
from .factories_reports import add_assessors, insert_sheets
from .factories_rounds import covering_set

# bias(round_index, criterion_index) -> levels added to the key for a drifting assessor
Bias = Callable[[int, int], int]


@dataclass
class History:
    rounds: list[int] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)
    keys: dict[int, list[int]] = field(default_factory=dict)
    pool: list[int] = field(default_factory=list)


def history_anchors(
    session: Session, world: World, n: int = 8, *, seed: int = 0
) -> tuple[list[int], dict[int, list[int]]]:
    """``n`` calibration anchors keyed at levels 2-3: a ±1 slip and a lenient +1 stay on the scale, so
    the simulated noise has mean zero (clipping at the ends would add a bias of its own)."""
    rng = np.random.default_rng(seed)
    program = session.get(Program, world.program_a)
    rubric = session.get(RubricVersion, world.rubric_id)
    assert program is not None and rubric is not None
    ids, keys = [], {}
    for i in range(n):
        levels = [int(x) for x in rng.integers(2, 4, len(world.criteria))]
        a = make_anchor(session, program, rubric, title=f"History {i + 1}", key_levels=levels)
        ids.append(a.id)
        keys[a.id] = levels
    session.commit()
    return ids, keys


def build_history(
    session: Session,
    world: World,
    *,
    n_rounds: int,
    assessors: Sequence[int],
    seed: int,
    noise: float = 0.03,
    bias: dict[int, Bias] | None = None,
    anchors: tuple[list[int], dict[int, list[int]]] | None = None,
    anchors_per_round: int | None = None,
    random_scores: Callable[[int, int, int], bool] | None = None,
) -> History:
    """``n_rounds`` closed calibration rounds, one a week ending last week, all ``assessors``
    scoring every anchor: the key plus ±1 with probability ``noise`` each way, plus ``bias``;
    ``random_scores(round, anchor_index, criterion_index)`` makes that score uniformly random."""
    rng = np.random.default_rng(seed)
    program = session.get(Program, world.program_a)
    rubric = session.get(RubricVersion, world.rubric_id)
    assert program is not None and rubric is not None
    ids, keys = anchors or history_anchors(session, world, seed=seed)
    use = ids[: anchors_per_round or len(ids)]
    people = [session.get(User, u) for u in assessors]
    from calibration.models import Anchor

    anchor_rows = [session.get(Anchor, a) for a in use]
    out = History(anchors=use, keys=keys, pool=list(assessors))
    start = utcnow() - dt.timedelta(weeks=n_rounds + 1)
    for t in range(n_rounds):
        opens = start + dt.timedelta(weeks=t)
        rnd = make_round(
            session, program, rubric, anchor_rows, people,  # type: ignore[arg-type]
            name=f"Calibration {t + 1}", kind=RoundKind.CALIBRATION, status=RoundStatus.CLOSED,
            opens_at=opens, closes_at=opens + dt.timedelta(days=5),
        )  # fmt: skip
        session.commit()
        scores = {}
        for u in assessors:
            for ai, a in enumerate(use):
                levels = []
                for ci, k in enumerate(keys[a]):
                    if random_scores is not None and random_scores(t, ai, ci):
                        levels.append(int(rng.integers(1, 5)))
                        continue
                    step = int(rng.choice([-1, 0, 1], p=[noise, 1 - 2 * noise, noise]))
                    step += (bias or {}).get(u, lambda _t, _c: 0)(t, ci)
                    levels.append(int(np.clip(k + step, 1, 4)))
                scores[(a, u)] = levels
        insert_sheets(session, rnd.id, scores, start=opens + dt.timedelta(hours=1))
        out.rounds.append(rnd.id)
    return out


def pool(session: Session, world: World, n: int = 7) -> list[int]:
    """Program A's two assessors plus ``n - 2`` bulk certified ones."""
    return [world.ids["assessor"], world.ids["assessor2"], *add_assessors(session, world.program_a, n - 2)]


def fresh_anchors(session: Session, world: World, sets: int = 2) -> list[int]:
    """Calibration anchors nobody has seen, covering every level of every criterion."""
    out: list[int] = []
    for i in range(sets):
        out += covering_set(session, world, f"Fresh {i + 1}")
    return out


def set_drift_settings(session: Session, program_id: int, **values: object) -> None:
    program = session.get(Program, program_id)
    assert program is not None
    settings = json.loads(program.settings_json or "{}")
    settings["drift"] = {**settings.get("drift", {}), **values}
    program.settings_json = json.dumps(settings)
    session.commit()


def make_session(
    session: Session,
    world: World,
    *,
    days: float,
    capacity: int = 4,
    title: str = "Recalibration session",
    timezone: str = "Europe/Berlin",
    local_time: dt.time | None = None,
) -> int:
    """A scheduled session ``days`` from now (at ``local_time`` in ``timezone`` on that day, if given)."""
    from calibration.services.sessions import create_session

    when = utcnow() + dt.timedelta(days=days)
    if local_time is not None:
        from zoneinfo import ZoneInfo

        day = when.astimezone(ZoneInfo(timezone)).date()
    else:
        from zoneinfo import ZoneInfo

        local = when.astimezone(ZoneInfo(timezone))
        day, local_time = local.date(), local.time().replace(second=0, microsecond=0)
    trainer = Member(world.ids["trainer"], world.program_a, Role.LEAD_TRAINER)
    row = create_session(
        session, trainer, program_id=world.program_a, title=title, date=day, time=local_time,
        timezone=timezone, duration_minutes=90, location="https://video.example.test/room",
        trainer_id=world.ids["trainer"], capacity=capacity,
    )  # fmt: skip
    session.commit()
    return row.id


def user_ids_with_role(session: Session, program_id: int) -> list[int]:
    from calibration.models import Membership

    return list(
        session.scalars(
            select(Membership.user_id).where(
                Membership.program_id == program_id, Membership.role == Role.ASSESSOR
            )
        )
    )
