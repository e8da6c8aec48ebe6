"""Factory helpers for onboarding tests: qualification and practice anchors, an invited person,
scoring a round through the web, and a controllable clock for the token services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from calibration.models import AnchorPurpose, Assignment, Round, RoundAnchor, RoundKind
from calibration.services.rounds import current_keys

from .conftest import post_form
from .factories import World
from .factories_rounds import covering_set, keyed_anchor

# A level two or more steps from each key level: scoring with it fails every check.
FAR = {1: 4, 2: 4, 3: 1, 4: 1}


def qualification_pool(session: Session, world: World, *, sets: int = 3) -> list[int]:
    """``sets`` covering sets of qualification anchors (4 anchors each): enough for two attempts of
    5 unseen anchors that each cover every level of every criterion."""
    ids: list[int] = []
    for i in range(sets):
        ids += covering_set(session, world, f"Qualification {i + 1}", purpose=AnchorPurpose.QUALIFICATION)
    return ids


def practice_anchors(session: Session, world: World, n: int = 2) -> list[int]:
    anchors = [
        keyed_anchor(session, world, f"Practice {i + 1}", [2, 3, 1, 4, 2], purpose=AnchorPurpose.PRACTICE)
        for i in range(n)
    ]
    session.commit()
    return [a.id for a in anchors]


def rounds_of(session: Session, user_id: int, kind: RoundKind) -> list[Round]:
    session.rollback()
    return list(
        session.scalars(
            select(Round)
            .join(Assignment, Assignment.round_id == Round.id)
            .where(Assignment.user_id == user_id, Round.kind == kind)
            .order_by(Round.id)
        )
    )


def anchors_of(session: Session, round_id: int) -> list[int]:
    return list(
        session.scalars(
            select(RoundAnchor.anchor_id)
            .where(RoundAnchor.round_id == round_id)
            .order_by(RoundAnchor.position)
        )
    )


def score_round(client: Any, session: Session, world: World, round_id: int, *, good: bool) -> list[Any]:
    """Score every anchor of the round through the web (the key's levels, or levels far from it)."""
    anchor_ids = anchors_of(session, round_id)
    keys = current_keys(session, anchor_ids)
    responses = []
    for anchor_id in anchor_ids:
        key = keys[anchor_id][1]
        data = {f"criterion_{c}": str(key[c] if good else FAR[key[c]]) for c in world.criteria}
        data["notes"] = ""
        url = f"/rounds/{round_id}/anchors/{anchor_id}"
        responses.append(post_form(client, url, data))
    return responses


class Clock:
    """A clock the token and onboarding services read instead of the real one (monkeypatched)."""

    def __init__(self, monkeypatch: Any) -> None:
        from calibration.db import utcnow

        self.offset = dt.timedelta(0)
        self._real = utcnow
        for module in ("calibration.services.tokens", "calibration.services.onboarding"):
            monkeypatch.setattr(f"{module}.utcnow", self.now)

    def now(self) -> dt.datetime:
        return self._real() + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta
