"""Property: for any sequence of use cases, every committed change has its audit row and no
rolled-back change has one (issue 12, item 1).

A "request" runs one to three use cases in one transaction. Any of them may hit a clash inside its
savepoint (as a concurrent duplicate would); a clashing use case's error is caught, as a caller that
goes on with the rest of its work does, and the request then commits or rolls back. Afterwards the
rows and the audit trail must describe the same history, and the chain must verify.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from calibration.models import AnchorKeyVersion, AuditEvent, KeyChallenge, ScoreCorrection, ScoreSheet
from calibration.services import anchors, audit, challenges, corrections, scoring
from calibration.services.context import Actor, Member

ASSESSORS = ("assessor", "assessor2")

op = st.one_of(
    st.tuples(st.just("submit"), st.sampled_from(ASSESSORS), st.integers(0, 4), st.booleans()),
    st.tuples(st.just("correct"), st.integers(0, 50), st.integers(0, 4), st.booleans()),
    st.tuples(st.just("challenge"), st.integers(0, 50), st.integers(0, 4), st.booleans()),
    st.tuples(st.just("key"), st.integers(0, 4), st.integers(1, 4), st.booleans()),
)
request = st.tuples(st.lists(op, min_size=1, max_size=3), st.sampled_from(["commit", "commit", "rollback"]))


def _objects(db: Any, action: str) -> list[str]:
    return sorted(db.scalars(select(AuditEvent.object_id).where(AuditEvent.action == action)))


def _detail_ids(db: Any, action: str, field: str) -> list[int]:
    import json

    return sorted(
        json.loads(d)[field]
        for d in db.scalars(select(AuditEvent.detail_json).where(AuditEvent.action == action))
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(requests=st.lists(request, min_size=1, max_size=6))
def test_every_committed_change_has_its_audit_row_and_no_other(db, world, requests):
    trainer = Member(world.ids["trainer"], world.program_a)
    clash = {"armed": False}
    real_flush = db.flush

    def flush(objects: Any = None) -> None:
        if clash["armed"] and db.in_nested_transaction():
            clash["armed"] = False
            raise IntegrityError("INSERT (injected)", {}, Exception("duplicate (injected)"))
        real_flush(objects)

    db.flush = flush  # type: ignore[method-assign]
    try:
        for ops, outcome in requests:
            for kind, a, b, clashes in ops:
                clash["armed"] = clashes
                with contextlib.suppress(Exception):
                    _run(db, world, trainer, kind, a, b)
                clash["armed"] = False
            if outcome == "commit":
                db.commit()
            else:
                db.rollback()
    finally:
        del db.flush
    db.rollback()

    sheets = sorted(str(i) for i in db.scalars(select(ScoreSheet.id)))
    assert _objects(db, "sheet.submit") == sheets
    corrected = sorted(db.scalars(select(ScoreCorrection.id)))
    assert len(_objects(db, "sheet.correct")) == len(corrected)
    raised = sorted(str(i) for i in db.scalars(select(KeyChallenge.id)))
    assert _objects(db, "key.challenge") == raised
    versions = db.scalar(select(func.count()).select_from(AnchorKeyVersion)) or 0
    assert len(_objects(db, "anchor.key_change")) == versions - len(world.anchors) - 1  # factories' keys
    assert audit.verify_chain(db).ok


def _run(db: Any, world: Any, trainer: Actor, kind: str, a: Any, b: int) -> None:
    if kind == "submit":
        anchor = world.anchors[b]
        scoring.submit_sheet(
            db, Member(world.ids[a], world.program_a), round_id=world.round_id, anchor_id=anchor,
            levels=dict(zip(world.criteria, world.keys[anchor], strict=True)), notes="",
        )  # fmt: skip
        return
    if kind == "key":
        anchor = world.anchors[a]
        current = anchors.current_key(db, anchor)
        levels = {e.criterion_id: e.level_value for e in current.entries} if current else {}
        levels[world.criteria[0]] = b
        anchors.change_key(
            db, trainer, program_id=world.program_a, anchor_id=anchor, levels=levels,
            rationales={c: "Because the evidence says so." for c in world.criteria},
            reason="Reviewed with the panel.", base_version=current.version if current else None,
        )  # fmt: skip
        return
    sheets = list(db.scalars(select(ScoreSheet).order_by(ScoreSheet.id)))
    if not sheets:
        return
    sheet = sheets[a % len(sheets)]
    criterion = world.criteria[b]
    if kind == "correct":
        corrections.correct_score(
            db, trainer, program_id=world.program_a, sheet_id=sheet.id, criterion_id=criterion,
            level_value=1 + (a % len(world.levels)), reason="The evidence shows another level.",
        )  # fmt: skip
    else:
        challenges.raise_challenge(
            db, Member(sheet.assessor_id, world.program_a), round_id=sheet.round_id, anchor_id=sheet.anchor_id,
            criterion_id=criterion, argument="The rationale cites evidence that the submission lacks.",
        )  # fmt: skip
