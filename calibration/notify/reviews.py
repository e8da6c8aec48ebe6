"""Notices about reviews of final scores, written to the outbox (:mod:`calibration.notify.outbox`) in the
transaction of the review, from the event the review recorded (:mod:`calibration.notify.dispatch`),
and sent after the commit by the transaction boundary (each function returns the outbox ids it
queued; a mail that fails is recorded and retried, and the page still shows everything):

* the assessor, when a lead trainer corrects one of their scores (with the reason);
* the program's lead trainers, when an assessor questions a key;
* the assessor, when their question is answered.

Each goes only to people who may already see its content: the assessor's own final sheet, or the
trainers of the program.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import KeyChallenge, Membership, Role, Round, ScoreCorrection, ScoreSheet, User
from . import mail, outbox


def _feedback_link(sheet: ScoreSheet, anchor_fragment: str) -> str:
    return url_for(
        "assessor.feedback", round_id=sheet.round_id, anchor_id=sheet.anchor_id, _external=True
    ) + (anchor_fragment)


def score_corrected(session: Session, correction: ScoreCorrection) -> list[int]:
    sheet = session.get(ScoreSheet, correction.sheet_id)
    assert sheet is not None
    assessor = session.get(User, sheet.assessor_id)
    rnd = session.get(Round, sheet.round_id)
    assert assessor is not None and rnd is not None
    row = outbox.queue(
        session,
        mail.render_mail(
            "score_corrected",
            to=assessor.email,
            subject=f"A score of yours was corrected: {sheet.anchor.title}",
            name=assessor.name,
            round_name=rnd.name,
            anchor_title=sheet.anchor.title,
            criterion_title=correction.criterion.title,
            before=correction.previous_level_value,
            after=correction.level_value,
            reason=correction.reason,
            by=correction.corrected_by.name,
            link=_feedback_link(sheet, "#corrections"),
        ),
        kind="score-corrected",
        program_id=rnd.program_id,
        user_id=assessor.id,
    )
    return [row.id]


def challenge_raised(session: Session, challenge: KeyChallenge) -> list[int]:
    """Tell every active lead trainer of the program (one mail each)."""
    trainers = session.execute(
        select(User.id, User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.program_id == challenge.program_id,
            Membership.role == Role.LEAD_TRAINER,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    ).all()
    link = url_for("trainer.challenge_page", challenge_id=challenge.id, _external=True)
    ids = []
    for user_id, name, email in trainers:
        row = outbox.queue(
            session,
            mail.render_mail(
                "challenge_raised",
                to=email,
                subject=f"A key is questioned: {challenge.anchor.title}",
                name=name,
                assessor=challenge.assessor.name,
                anchor_title=challenge.anchor.title,
                criterion_title=challenge.criterion.title,
                argument=challenge.argument,
                link=link,
            ),
            kind="challenge-raised",
            program_id=challenge.program_id,
            user_id=user_id,
        )
        ids.append(row.id)
    return ids


def challenge_answered(session: Session, challenge: KeyChallenge) -> list[int]:
    sheet = session.get(ScoreSheet, challenge.sheet_id)
    assert sheet is not None
    row = outbox.queue(
        session,
        mail.render_mail(
            "challenge_answered",
            to=challenge.assessor.email,
            subject=f"Your question about a key was answered: {challenge.anchor.title}",
            name=challenge.assessor.name,
            anchor_title=challenge.anchor.title,
            criterion_title=challenge.criterion.title,
            changed=challenge.new_key_version_id is not None,
            version=challenge.new_key_version.version if challenge.new_key_version else None,
            response=challenge.response,
            link=_feedback_link(sheet, "#challenges"),
        ),
        kind="challenge-answered",
        program_id=challenge.program_id,
        user_id=challenge.assessor_id,
    )
    return [row.id]
