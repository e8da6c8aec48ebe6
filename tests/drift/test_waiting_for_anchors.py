"""A confirmed flag never strands an assessor (issue 12, item 2): when no round of unseen anchors can
be assembled yet, the recalibration waits for anchors, visibly (the flag, the flags list, the
trainer's person page, the assessor's /certification), with the shortfall for the trainer, and it
starts by itself when a suitable anchor is activated or ``evaluate-drift`` runs, or when the trainer
tries again. Every anchor the assessor has never seen whose purpose counts may serve, not only
calibration anchors; practice anchors never do."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from calibration.models import (
    Anchor,
    AnchorPurpose,
    AnchorStatus,
    AuditEvent,
    CertificationStatus,
    DriftFlag,
    FlagRule,
    Membership,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationWait,
    RoundAnchor,
    WaitStatus,
)
from calibration.services import anchor_waits, recalibration
from calibration.services import anchors as anchor_service
from calibration.services.context import Member, SystemActor

from ..conftest import post_form
from ..factories_rounds import covering_set


def _flag(db: Any, world: Any, who: str = "assessor", evidence: str = "first") -> DriftFlag:
    """An open EWMA flag about ``who`` on the world's round (what the rules would record)."""
    db.rollback()  # leave any read snapshot older than the requests before writing
    flag = DriftFlag(
        program_id=world.program_a,
        user_id=world.ids[who],
        round_id=world.round_id,
        rule=FlagRule.EWMA,
        direction="lenient",
        statistic="EWMA of signed deviation",
        value=0.15,
        threshold=0.08,
        summary="Lenient overall: the EWMA reached +0.15 levels against a limit of ±0.08",
        assessor_text="Your recent scores have been higher than the key by about one level.",
        evidence_hash=f"test-{who}-{world.round_id}-{evidence}",
    )
    db.add(flag)
    db.commit()
    return flag


def _confirm(db: Any, world: Any, flag: DriftFlag) -> list[recalibration.Started]:
    trainer = Member(world.ids["trainer"], world.program_a)
    started = recalibration.confirm_flag(db, trainer, program_id=world.program_a, flag_id=flag.id)
    db.commit()
    return started


def _waits(db: Any, user_id: int) -> list[RecalibrationWait]:
    db.rollback()  # a fresh look at what the requests committed
    return list(
        db.scalars(
            select(RecalibrationWait)
            .where(RecalibrationWait.user_id == user_id)
            .order_by(RecalibrationWait.id)
        )
    )


def _recs(db: Any, user_id: int) -> list[Recalibration]:
    db.rollback()
    return list(db.scalars(select(Recalibration).where(Recalibration.user_id == user_id)))


def test_confirming_without_unseen_anchors_waits_with_the_shortfall(app, world, db):
    flag = _flag(db, world)
    # The assessor has every anchor of the program in the open round: nothing unseen is left.
    [started] = _confirm(db, world, flag)
    assert started.recalibration is None and started.waiting is not None
    uid = world.ids["assessor"]
    [wait] = _waits(db, uid)
    assert wait.status == WaitStatus.WAITING and wait.flag_id == flag.id
    assert wait.rubric_version_id == world.rubric_id
    shortfall = json.loads(wait.shortfall_json)
    every = {(c, lv) for c in world.criteria for lv in world.levels}
    assert {tuple(p) for p in shortfall["pairs"]} == every
    assert shortfall["needed"] == 5 and shortfall["available"] == 0 and shortfall["more"] == 5
    assert db.scalar(select(Membership.certification_status).where(Membership.user_id == uid)) == (
        CertificationStatus.RECALIBRATION_DUE
    )
    assert _recs(db, uid) == []
    waited = db.scalar(select(func.count()).where(AuditEvent.action == "recalibration.wait"))
    assert waited == 1


def test_qualification_anchors_serve_but_practice_anchors_never_do(app, world, db):
    flag = _flag(db, world)
    covering_set(db, world, "Practice", purpose=AnchorPurpose.PRACTICE)
    covering_set(db, world, "Practice more", purpose=AnchorPurpose.PRACTICE)
    [started] = _confirm(db, world, flag)
    assert started.recalibration is None and started.waiting is not None
    qualification = covering_set(db, world, "Qualification", purpose=AnchorPurpose.QUALIFICATION)
    qualification += covering_set(db, world, "Qualification more", purpose=AnchorPurpose.QUALIFICATION)
    [again] = recalibration.retry_waiting(db, SystemActor(world.program_a), program_id=world.program_a)
    db.commit()
    assert again.recalibration is not None, again.problem
    chosen = set(
        db.scalars(select(RoundAnchor.anchor_id).where(RoundAnchor.round_id == again.recalibration.round_id))
    )
    assert len(chosen) >= 5 and chosen <= set(qualification)
    [wait] = _waits(db, world.ids["assessor"])
    assert wait.status == WaitStatus.STARTED and wait.recalibration_id == again.recalibration.id


def test_activating_a_suitable_anchor_starts_the_waiting_recalibration(app, world, db):
    flag = _flag(db, world)
    ids = covering_set(db, world, "Reserve") + covering_set(db, world, "Reserve more")
    for anchor in db.scalars(select(Anchor).where(Anchor.id.in_(ids))):
        anchor.status = AnchorStatus.DRAFT
    db.commit()
    _confirm(db, world, flag)
    trainer = Member(world.ids["trainer"], world.program_a)
    uid = world.ids["assessor"]
    for n, anchor_id in enumerate(ids, start=1):
        anchor = db.get(Anchor, anchor_id)
        anchor_service.update_anchor(
            db, trainer, program_id=world.program_a, anchor_id=anchor_id, title=anchor.title,
            purpose=anchor.purpose.value, status="active", evidence_md=anchor.evidence_md,
        )  # fmt: skip
        db.commit()
        if n < 4:  # four anchors (one per level) cover every pair, the fifth reaches the minimum
            assert _recs(db, uid) == []
            assert json.loads(_waits(db, uid)[0].shortfall_json)["available"] == n
        if n == 1:  # what is still missing, criterion by criterion, in the trainer's words
            lines = anchor_waits.shortfall_lines(db, _waits(db, uid)[0])
            assert len(lines) == len(world.criteria) + 1, lines
            assert all(
                line.startswith("an anchor keyed “") and "(one for each level)" in line for line in lines[:-1]
            )
            assert lines[-1].startswith("4 more anchors in all (a round needs 5; 1 never seen is available)")
    [rec] = _recs(db, uid)
    assert rec.outcome == RecalibrationOutcome.PENDING and rec.flag_id == flag.id
    [wait] = _waits(db, uid)
    assert wait.status == WaitStatus.STARTED and wait.recalibration_id == rec.id


def test_evaluate_drift_starts_what_can_start_now(app, world, db, runner):
    flag = _flag(db, world)
    _confirm(db, world, flag)
    covering_set(db, world, "Later")
    covering_set(db, world, "Later more")
    db.rollback()
    result = runner.invoke(args=["evaluate-drift"])
    assert result.exit_code == 0, result.output
    assert "1 waiting recalibration(s) started" in result.output
    [rec] = _recs(db, world.ids["assessor"])
    assert rec.outcome == RecalibrationOutcome.PENDING
    assert _waits(db, world.ids["assessor"])[0].status == WaitStatus.STARTED


def test_the_waiting_state_is_shown_to_the_trainer_and_the_assessor(app, world, db, client, login):
    flag = _flag(db, world)
    _confirm(db, world, flag)
    [wait] = _waits(db, world.ids["assessor"])
    login(world.emails["trainer"])
    flag_page = client.get(f"/trainer/flags/{flag.id}").get_data(as_text=True)
    assert "Waiting for anchors" in flag_page and "Asha Assessor" in flag_page
    assert "at levels 1, 2, 3, 4" in flag_page and "5 more anchors" in flag_page
    assert f'action="/trainer/recalibration/waits/{wait.id}/retry"' in flag_page
    # A second flag about the same assessor shows the same wait (one wait per assessor).
    second = _flag(db, world, evidence="second")
    assert "Waiting for anchors" in client.get(f"/trainer/flags/{second.id}").get_data(as_text=True)
    flags_page = client.get("/trainer/flags").get_data(as_text=True)
    assert "Waiting for anchors" in flags_page and "Asha Assessor" in flags_page
    person = client.get(f"/trainer/people/{world.ids['assessor']}").get_data(as_text=True)
    assert "Waiting for anchors" in person and "at levels 1, 2, 3, 4" in person
    login(world.emails["assessor"])
    mine = client.get("/certification").get_data(as_text=True)
    assert "waiting for anchors" in mine.lower() and "Your recalibration round" in mine
    # The assessor is told there is a wait, never which key levels are missing (blindness).
    assert "at levels" not in mine


def test_the_trainer_tries_again_audited_and_it_starts_when_it_can(app, world, db, client, login):
    flag = _flag(db, world)
    _confirm(db, world, flag)
    [wait] = _waits(db, world.ids["assessor"])
    login(world.emails["trainer"])
    url = f"/trainer/recalibration/waits/{wait.id}/retry"
    r = post_form(client, url, {}, token_page=f"/trainer/flags/{flag.id}")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Still waiting for anchors" in page
    assert _recs(db, world.ids["assessor"]) == []
    covering_set(db, world, "New")
    covering_set(db, world, "New more")
    db.rollback()  # reading the new ids back opened a transaction: end it before the request
    r = post_form(client, url, {}, token_page=f"/trainer/flags/{flag.id}")
    assert r.status_code == 302
    assert "Recalibration started" in client.get(r.headers["Location"]).get_data(as_text=True)
    [rec] = _recs(db, world.ids["assessor"])
    assert rec.outcome == RecalibrationOutcome.PENDING
    retries = db.scalar(select(func.count()).where(AuditEvent.action == "recalibration.retry"))
    assert retries == 2
    # Done: a second try is refused with a plain message and changes nothing.
    db.rollback()
    r = post_form(client, url, {}, token_page=f"/trainer/flags/{flag.id}")
    assert r.status_code == 302
    assert "no longer waiting" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert len(_recs(db, world.ids["assessor"])) == 1


def test_another_programs_trainer_cannot_retry(app, world, db, client, login):
    flag = _flag(db, world)
    _confirm(db, world, flag)
    [wait] = _waits(db, world.ids["assessor"])
    login(world.emails["trainer_b"])
    r = post_form(client, f"/trainer/recalibration/waits/{wait.id}/retry", {}, token_page="/trainer/flags")
    assert r.status_code == 404
    assert _waits(db, world.ids["assessor"])[0].status == WaitStatus.WAITING


def test_suspending_a_waiting_assessor_closes_the_wait(app, world, db, client, login):
    flag = _flag(db, world)
    _confirm(db, world, flag)
    login(world.emails["trainer"])
    person = f"/trainer/people/{world.ids['assessor']}"
    r = post_form(
        client, f"{person}/suspend", {"suspend-reason": "On leave until spring."}, token_page=person
    )
    assert r.status_code == 302
    [wait] = _waits(db, world.ids["assessor"])
    assert wait.status == WaitStatus.WITHDRAWN
    assert "Waiting for anchors" not in client.get("/trainer/flags").get_data(as_text=True)
    withdrawn = db.scalar(
        select(func.count()).where(
            AuditEvent.action == "recalibration.wait", AuditEvent.outcome == "withdrawn"
        )
    )
    assert withdrawn == 1
    # Anchors arriving later start nothing for a suspended assessor.
    covering_set(db, world, "After")
    covering_set(db, world, "After more")
    db.rollback()
    assert recalibration.retry_waiting(db, SystemActor(world.program_a), program_id=world.program_a) == []
    assert _recs(db, world.ids["assessor"]) == []


def test_confirming_on_the_flag_page_says_it_waits_for_anchors(app, world, db, client, login):
    flag = _flag(db, world)
    login(world.emails["trainer"])
    url = f"/trainer/flags/{flag.id}"
    r = post_form(client, f"{url}/confirm", {"confirm-reason": ""}, token_page=url)
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "0 recalibration(s) started, 0 booked into a session; 1 waiting for anchors" in page
    assert "Waiting for anchors" in page and "Try again now for Asha Assessor" in page
    [wait] = _waits(db, world.ids["assessor"])
    assert wait.flag_id == flag.id
