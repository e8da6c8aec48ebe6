"""Audit rows recorded before a savepoint that rolls back are kept (issue 12, item 1).

SQLAlchemy reports a savepoint's rollback like any other; the audit queue used to be emptied by
every rollback, so a request whose inner savepoint rolled back (a duplicate caught, a recalibration
that could not be assembled) committed its changes without their audit rows. Each of the nine
savepoints in the services is driven to roll back here, after a marker row was recorded in the same
transaction; the marker must reach the audit table, and nothing recorded inside the savepoint may.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from calibration.db import utcnow
from calibration.models import AuditEvent, CertificationStatus, FlagRule, Membership, ScoreSheet
from calibration.services import (
    anchors,
    audit,
    challenges,
    corrections,
    drift,
    notices,
    recalibration,
    scoring,
    training,
)
from calibration.services.context import Actor, Member, SystemActor

from ..factories import submit
from ..factories_onboarding import practice_anchors, qualification_pool

MARKER = "test.before_savepoint"


class Injector:
    """Makes the next flush inside a savepoint fail as a concurrent duplicate would."""

    def __init__(self) -> None:
        self.armed = False
        self.fired = 0

    def arm(self) -> None:
        self.armed = True


@pytest.fixture
def savepoint_clash(db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Injector]:
    injector = Injector()
    real_flush = db.flush

    def flush(objects: Any = None) -> None:
        if injector.armed and db.in_nested_transaction():
            injector.armed = False
            injector.fired += 1
            raise IntegrityError("INSERT (injected)", {}, Exception("duplicate key (injected for the test)"))
        real_flush(objects)

    monkeypatch.setattr(db, "flush", flush)
    yield injector


def _actions_since(db: Any, last_id: int) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEvent.action).where(AuditEvent.id > last_id).order_by(AuditEvent.id)))


def _last_id(db: Any) -> int:
    return db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))) or 0


def _run_site(db: Any, world: Any, call: Callable[[], Any], injector: Injector | None) -> list[str]:
    """Record the marker, make the site's savepoint roll back, commit; return the actions written."""
    last = _last_id(db)
    audit.record(db, Member(world.ids["trainer"], world.program_a), MARKER)
    if injector is not None:
        injector.arm()
    with contextlib.suppress(Exception):  # the site's answer to the clash: a domain error, or the clash
        call()
    if injector is not None:
        assert injector.fired == 1, "the site did not flush inside its savepoint"
    db.commit()
    return _actions_since(db, last)


def _assessor(world: Any, who: str = "assessor") -> Actor:
    return Member(world.ids[who], world.program_a)


def test_scoring_savepoint(db, world, savepoint_clash):
    anchor = world.anchors[0]

    def call() -> Any:
        return scoring.submit_sheet(
            db, _assessor(world), round_id=world.round_id, anchor_id=anchor,
            levels=dict(zip(world.criteria, world.keys[anchor], strict=True)), notes="",
        )  # fmt: skip

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_corrections_savepoint(db, world, savepoint_clash):
    sheet = submit(db, world, "assessor")

    def call() -> Any:
        return corrections.correct_score(
            db, Member(world.ids["trainer"], world.program_a), program_id=world.program_a,
            sheet_id=sheet.id, criterion_id=world.criteria[0],
            level_value=1 if world.keys[world.anchors[0]][0] != 1 else 2,
            reason="The evidence shows the lower level clearly.",
        )  # fmt: skip

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]


def test_anchor_key_savepoint(db, world, savepoint_clash):
    anchor = world.anchors[0]
    levels = dict(zip(world.criteria, world.keys[anchor], strict=True))
    levels[world.criteria[0]] = 1 if levels[world.criteria[0]] != 1 else 2
    current = anchors.current_key(db, anchor)
    assert current is not None

    def call() -> Any:
        return anchors.change_key(
            db, Member(world.ids["trainer"], world.program_a), program_id=world.program_a, anchor_id=anchor,
            levels=levels, rationales={c: "Because the evidence says so." for c in world.criteria},
            reason="Reviewed with the panel.", base_version=current.version,
        )  # fmt: skip

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]


def test_challenges_savepoint(db, world, savepoint_clash):
    submit(db, world, "assessor")

    def call() -> Any:
        return challenges.raise_challenge(
            db, _assessor(world), round_id=world.round_id, anchor_id=world.anchors[0],
            criterion_id=world.criteria[0],
            argument="The rationale cites evidence that the submission does not contain.",
        )  # fmt: skip

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]


def test_drift_flag_savepoint(db, world, savepoint_clash):
    finding = drift.Finding(
        rule=FlagRule.EWMA, user_id=world.ids["assessor"], criterion_id=None, round_id=world.round_id,
        statistic="test", value=1.0, threshold=0.5, direction="lenient", window=[world.round_id], evidence={}, parameters={},
        summary="A test finding.", assessor_text="A test finding.", key_evidence={"test": 1},
    )  # fmt: skip

    def call() -> Any:
        assert drift._record(db, world.program_a, finding, utcnow(), None) is None

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]


def test_notices_savepoint(db, world, savepoint_clash):
    notice = notices.DueNotice(
        key="test:1", kind="test", user_id=world.ids["assessor"], email=world.emails["assessor"],
        name="Asha Assessor", program_name="Alpha", expires_at=utcnow() + dt.timedelta(days=30),
    )  # fmt: skip

    def call() -> Any:
        assert notices.claim(db, notice) is False

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]


def test_practice_round_savepoint(db, world, savepoint_clash):
    practice_anchors(db, world)

    def call() -> Any:
        return training.assign_practice_round(
            db, SystemActor(world.program_a), program_id=world.program_a, user_id=world.ids["assessor2"],
            window=dt.timedelta(days=14),
        )  # fmt: skip

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]


def test_qualification_round_savepoint(db, world, savepoint_clash):
    qualification_pool(db, world)
    db.commit()

    def call() -> Any:
        return training.assign_qualification_round(
            db, SystemActor(world.program_a), program_id=world.program_a, user_id=world.ids["assessor2"],
            window=dt.timedelta(days=14),
        )  # fmt: skip

    assert _run_site(db, world, call, savepoint_clash) == [MARKER]


def test_recalibration_savepoint_keeps_the_status_change_audited(db, world):
    """The reported case: a recalibration that cannot be assembled rolls its savepoint back; the
    status change made before it is committed, and so must be its audit row."""

    # The world's five calibration anchors cover no level 1 on the second criterion: no round.
    def call() -> Any:
        started = recalibration.start(
            db, SystemActor(world.program_a), program_id=world.program_a, user_id=world.ids["assessor"],
            flags=[], settings={"recalibration_window_days": 14, "recalibration_round_days": 14, "min_anchors": 5},
        )  # fmt: skip
        assert started.recalibration is None or started.recalibration.round_id is None

    actions = _run_site(db, world, call, None)
    status = db.scalar(
        select(Membership.certification_status).where(
            Membership.user_id == world.ids["assessor"], Membership.program_id == world.program_a
        )
    )
    assert status == CertificationStatus.RECALIBRATION_DUE
    assert actions[0] == MARKER
    assert "certification.status" in actions
    assert audit.verify_chain(db).ok
