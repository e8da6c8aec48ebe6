"""Assessor pages: assigned rounds, blind scoring, feedback once final."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ...db import get_session, utcnow
from ...models import Anchor, Role, Round
from ...services import anchors as anchor_service
from ...services import (
    assignments,
    certification,
    challenges,
    completion,
    credentials,
    drafts,
    key_views,
    practice,
    reveal,
    round_results,
    rubric_cache,
    scoring,
    training_path,
)
from ...services.context import Member
from ...services.errors import AlreadyRecorded, InvalidInput, NotFound, RoundNotOpen
from ...services.rubric_cache import RubricSnapshot
from ..attachments import send_attachment
from ..boundary import Done, Refused, attempt, commit_after_read, page
from ..forms import ConfirmForm
from ..guards import actor, require_roles
from ..hooks import writes_late
from . import flow
from .forms import CRITERION_PREFIX, ChallengeForm, ScoreFormBase, score_form_class

bp = Blueprint("assessor", __name__)
# Before the guard: a score page POST after the login session ran out keeps what was typed.
bp.before_request(flow.keep_what_was_typed)
bp.before_request(require_roles(Role.ASSESSOR))

Page = Response | str | tuple[str, int]


@bp.get("/dashboard")
def dashboard() -> str:
    me = actor()
    db_session = get_session()
    rounds = assignments.dashboard(db_session, user_id=me.user_id, program_id=me.program_id)
    latest = round_results.latest_result(db_session, program_id=me.program_id, user_id=me.user_id)
    status = g.membership.certification_status if g.membership else None
    path = training_path.training_path(
        db_session, program_id=me.program_id, user_id=me.user_id, status=status, rounds=rounds
    )
    return render_template(
        "assessor/dashboard.html",
        rounds=rounds,
        membership=g.membership,
        latest=latest,
        counted=round_results.COUNTED_KINDS,
        path=path,
    )


@bp.get("/certification", endpoint="certification")
def certification_page() -> str:
    """The assessor's certification: status, qualification results with reasons, what happens next."""
    me = actor()
    db_session = get_session()
    view = certification.certification_view(db_session, program_id=me.program_id, user_id=me.user_id)
    finished = round_results.finished_rounds(db_session, program_id=me.program_id, user_id=me.user_id)
    credential = credentials.current_for(db_session, me.program_id, me.user_id, now=utcnow())
    rounds = assignments.dashboard(db_session, user_id=me.user_id, program_id=me.program_id)
    path = training_path.training_path(
        db_session, program_id=me.program_id, user_id=me.user_id, status=view.status, rounds=rounds
    )
    return render_template(
        "assessor/certification.html",
        v=view,
        finished=finished,
        path=path,
        credential=credential,
        credential_link=(
            credentials.IssuerSettings.from_config(current_app.config).credential_id(credential.public_id)
            if credential is not None
            else None
        ),
        credential_form=ConfirmForm(formdata=None),
    )


@bp.get("/rounds/<int:round_id>")
def round_page(round_id: int) -> str:
    me = actor()
    db_session = get_session()
    rnd = assignments.assigned_round(
        db_session, user_id=me.user_id, program_id=me.program_id, round_id=round_id
    )
    items = assignments.round_items(db_session, rnd, user_id=me.user_id)
    return render_template(
        "assessor/round.html",
        round=rnd,
        items=items,
        open_now=rnd.is_open_at(utcnow()),
        counted=rnd.kind in round_results.COUNTED_KINDS,
        tries=practice.practice_states(db_session, rnd, assessor_id=me.user_id),
    )


@dataclass(frozen=True)
class _ScoreContext:
    """What the score page reads before anything is written: who, which round, anchor and rubric."""

    me: Member
    session: Session
    rnd: Round
    anchor: Anchor
    rubric: RubricSnapshot
    form_class: type[ScoreFormBase]


def _score_context(round_id: int, anchor_id: int) -> _ScoreContext:
    me = actor()
    db_session = get_session()
    rnd, anchor = _round_and_anchor(round_id, anchor_id)
    rubric = rubric_cache.rubric_snapshot(db_session, rnd.rubric_version_id)
    form_class = score_form_class(rubric, notes_max_chars=current_app.config["NOTES_MAX_CHARS"])
    return _ScoreContext(me, db_session, rnd, anchor, rubric, form_class)


@bp.route("/rounds/<int:round_id>/anchors/<int:anchor_id>", methods=["GET", "POST"])
@writes_late
def score(round_id: int, anchor_id: int) -> Page:
    """The score page; its review step (``action=review``); the submit of a final sheet.

    A submit reads (who, which round, anchor and rubric, the form) in a read-only transaction and
    only then opens its write transaction, which stores the sheet, deletes the draft and commits:
    on SQLite the write lock, which every submit waits for in turn, is held for the writing alone.
    """
    c = _score_context(round_id, anchor_id)
    me, rnd, anchor = c.me, c.rnd, c.anchor
    if request.method == "GET" and scoring.existing_sheet(
        c.session, round_id=rnd.id, anchor_id=anchor.id, assessor_id=me.user_id
    ):
        return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id))
    if request.method == "GET":
        return _score_page(c, _restored_form(c))
    form = c.form_class()
    if request.form.get("action") == "review":
        return _review(c, form)
    page_error = None
    if form.validate_on_submit():
        levels, notes = form.levels(), form.notes.data or ""
        notes_max_chars = current_app.config["NOTES_MAX_CHARS"]
        defaults = certification.Policy.from_config(current_app.config)
        # The service checks, in the write transaction, that no sheet is stored yet.
        outcome = attempt(
            lambda s: completion.submit_final_sheet(
                s,
                me,
                rnd=rnd,
                anchor=anchor,
                rubric=c.rubric,
                levels=levels,
                notes=notes,
                notes_max_chars=notes_max_chars,
                defaults=defaults,
            ),
            form=form,
            refuse=(InvalidInput, RoundNotOpen, AlreadyRecorded),
            late=True,
        )
        if outcome.ok:
            done = outcome.value
            if done.qualification is not None:
                # Like every counted round, the last sheet leads to the round's result page.
                flash("That was the last anchor of your qualification round: here is your result.", "info")
                return redirect(url_for(".round_result", round_id=rnd.id))
            return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id))
        if isinstance(outcome.error, AlreadyRecorded):
            return _already_recorded(rnd, anchor)
        page_error = outcome.message
    elif form.is_submitted() and scoring.existing_sheet(
        c.session, round_id=rnd.id, anchor_id=anchor.id, assessor_id=me.user_id
    ):
        return _already_recorded(rnd, anchor)  # whatever the form held: the sheet is final
    elif form.is_submitted():
        page_error = "Some scores need attention; what you entered is kept below."
    return _score_page(c, form, page_error=page_error)


def _restored_form(c: _ScoreContext) -> ScoreFormBase:
    """A fresh score form, refilled with what was typed before the session ran out, else with the
    assessor's own draft (either only ever refills the form)."""
    typed = flow.carried(c.me.user_id, c.rnd.id, c.anchor.id)
    draft = drafts.draft_for(c.session, assessor_id=c.me.user_id, round_id=c.rnd.id, anchor_id=c.anchor.id)
    if typed is not None:
        levels, notes = typed
        flow.restore_message(notes_lost=notes is None)
        if notes is None:
            notes = draft.notes if draft else ""
    elif draft is not None:
        levels, notes = draft.levels, draft.notes
    else:
        return c.form_class(formdata=None)
    data: dict[str, object] = {
        f"{CRITERION_PREFIX}{cid}": str(value) for cid, value in drafts.clean_levels(c.rubric, levels).items()
    }
    return c.form_class(formdata=None, data={**data, "notes": notes})


def _score_page(
    c: _ScoreContext, form: ScoreFormBase, *, page_error: str | None = None, draft_note: str | None = None
) -> Page:
    draft = drafts.draft_for(c.session, assessor_id=c.me.user_id, round_id=c.rnd.id, anchor_id=c.anchor.id)
    html = render_template(
        "assessor/score.html",
        round=c.rnd,
        anchor=c.anchor,
        rubric=c.rubric,
        form=form,
        prefix=CRITERION_PREFIX,
        page_error=page_error,
        open_now=c.rnd.is_open_at(utcnow()),
        progress=flow.progress(c.session, c.rnd, user_id=c.me.user_id, anchor_id=c.anchor.id),
        draft=draft,
        draft_note=draft_note,
    )
    return page(html, page_error)


def keep_draft(
    c: _ScoreContext, form: ScoreFormBase, levels: dict[int, int], notes: str
) -> Done[dt.datetime] | Refused:
    """Keep what was typed as the assessor's draft of this anchor (a ``writes_late`` view)."""
    notes_max_chars = current_app.config["NOTES_MAX_CHARS"]
    return attempt(
        lambda s: drafts.save_draft(
            s,
            c.me,
            rnd=c.rnd,
            anchor=c.anchor,
            rubric=c.rubric,
            levels=levels,
            notes=notes,
            notes_max_chars=notes_max_chars,
        ),
        form=form,
        refuse=(InvalidInput, RoundNotOpen, AlreadyRecorded),
        late=True,
    )


def _review(c: _ScoreContext, form: ScoreFormBase) -> Page:
    """The review step: every chosen level, before the final submit. What was typed is kept as
    the draft on the way (so going back to change it restores it)."""
    if scoring.existing_sheet(c.session, round_id=c.rnd.id, anchor_id=c.anchor.id, assessor_id=c.me.user_id):
        return _already_recorded(c.rnd, c.anchor)
    if not form.validate_on_submit():
        return _score_page(c, form, page_error="Some scores need attention; what you entered is kept below.")
    levels, notes = form.levels(), form.notes.data or ""
    outcome = keep_draft(c, form, levels, notes)
    if not outcome.ok:
        if isinstance(outcome.error, AlreadyRecorded):
            return _already_recorded(c.rnd, c.anchor)
        return _score_page(c, form, page_error=outcome.message)
    labels = {level.value: level.label for level in c.rubric.levels}
    chosen = [(criterion, levels.get(criterion.id)) for criterion in c.rubric.criteria]
    return render_template(
        "assessor/review.html",
        round=c.rnd,
        anchor=c.anchor,
        rubric=c.rubric,
        form=form,
        prefix=CRITERION_PREFIX,
        chosen=chosen,
        labels=labels,
        notes=notes,
        progress=flow.progress(c.session, c.rnd, user_id=c.me.user_id, anchor_id=c.anchor.id),
    )


def _feedback_page(
    rnd: Round,
    anchor: Anchor,
    *,
    already_recorded: bool = False,
    form: ChallengeForm | None = None,
    page_error: str | None = None,
) -> str | tuple[str, int]:
    """The feedback page: the comparison with the key, corrections, and the assessor's own
    challenges to the key with the form to raise one. On a practice try while the key is withheld:
    which criteria differed, and another try."""
    me = actor()
    db_session = get_session()
    tries = practice.practice_state(db_session, rnd, assessor_id=me.user_id, anchor_id=anchor.id)
    if tries is not None and not tries.key_shown:
        return _differed_page(rnd, anchor, tries, already_recorded=already_recorded)
    fb = reveal.feedback(db_session, rnd, assessor_id=me.user_id, anchor_id=anchor.id)
    asked = challenges.challenges_of_sheet(db_session, fb.sheet.id)
    if form is None:
        form = ChallengeForm(formdata=None)
    form.criterion.choices = [(-1, "Choose…")] + [
        (c.criterion_id, c.criterion_title) for c in fb.criteria if c.criterion_id not in asked
    ]
    where = flow.progress(db_session, rnd, user_id=me.user_id, anchor_id=anchor.id)
    html = render_template(
        "assessor/feedback.html",
        round=rnd,
        anchor=anchor,
        feedback=fb,
        already_recorded=already_recorded,
        challenges=asked,
        challenge_form=form,
        page_error=page_error,
        progress=where,
        open_now=rnd.is_open_at(utcnow()),
        # The last sheet of a counted round is final: its way on is the round result page.
        result_ready=rnd.kind in round_results.COUNTED_KINDS and where.scored == where.total,
    )
    anchor_id, round_id, sheet_id = anchor.id, rnd.id, fb.sheet.id
    key_version_id, version = fb.sheet.key_version_id, fb.key_version
    # The first showing of this key to this assessor goes on the trail; a reload writes nothing.
    if not key_views.has_seen(db_session, user_id=me.user_id, key_version_id=key_version_id):
        commit_after_read(
            lambda s: key_views.record_first_feedback_view(
                s,
                me,
                anchor_id=anchor_id,
                key_version_id=key_version_id,
                version=version,
                round_id=round_id,
                sheet_id=sheet_id,
            )
        )
    return page(html, page_error)


def _differed_page(
    rnd: Round, anchor: Anchor, state: practice.PracticeState, *, already_recorded: bool = False
) -> str:
    """After a practice try that differed while tries remain: which criteria differed (never the
    key's level nor its rationale) and the way to try the same anchor again."""
    me = actor()
    db_session = get_session()
    rubric = rubric_cache.rubric_snapshot(db_session, rnd.rubric_version_id)
    return render_template(
        "assessor/practice_differed.html",
        round=rnd,
        anchor=anchor,
        rubric=rubric,
        state=state,
        labels={level.value: level.label for level in rubric.levels},
        differed=set(state.differed),
        already_recorded=already_recorded,
        progress=flow.progress(db_session, rnd, user_id=me.user_id, anchor_id=anchor.id),
        open_now=rnd.is_open_at(utcnow()),
    )


def _already_recorded(rnd: Round, anchor: Anchor) -> str | tuple[str, int]:
    return _feedback_page(rnd, anchor, already_recorded=True)


def _round_and_anchor(round_id: int, anchor_id: int) -> tuple[Round, Anchor]:
    """The round (assigned to the assessor, in their program) and one of its anchors; else 404."""
    me = actor()
    db_session = get_session()
    rnd = assignments.assigned_round(
        db_session, user_id=me.user_id, program_id=me.program_id, round_id=round_id
    )
    return rnd, assignments.round_anchor(db_session, rnd, anchor_id)


@bp.get("/rounds/<int:round_id>/anchors/<int:anchor_id>/feedback")
def feedback(round_id: int, anchor_id: int) -> str | tuple[str, int]:
    rnd, anchor = _round_and_anchor(round_id, anchor_id)
    return _feedback_page(rnd, anchor)


@bp.post("/rounds/<int:round_id>/anchors/<int:anchor_id>/feedback/challenge")
def challenge(round_id: int, anchor_id: int) -> Page:
    """Question the key on one criterion (only once the sheet is final: feedback's own rule)."""
    me = actor()
    db_session = get_session()
    rnd, anchor = _round_and_anchor(round_id, anchor_id)
    if reveal.may_reveal(db_session, assessor_id=me.user_id, round_id=rnd.id, anchor_id=anchor.id) is None:
        raise NotFound("feedback")  # before the sheet is final, as the feedback page itself
    form = ChallengeForm()
    if not form.validate():
        return _feedback_page(
            rnd, anchor, form=form, page_error="Your question needs attention; nothing was sent."
        )
    criterion_id = form.criterion.data if form.criterion.data is not None else -1
    argument = form.argument.data or ""
    # The service records the question; the boundary mails the lead trainers after the commit.
    outcome = attempt(
        lambda s: challenges.raise_challenge(
            s, me, round_id=rnd.id, anchor_id=anchor.id, criterion_id=criterion_id, argument=argument
        ),
        form=form,
    )
    if not outcome.ok:
        return _feedback_page(rnd, anchor, form=form, page_error=outcome.message)
    flash("Your question was sent to your lead trainer. Their answer will appear here.", "info")
    return redirect(url_for(".feedback", round_id=rnd.id, anchor_id=anchor.id) + "#challenges")


@bp.get("/rounds/<int:round_id>/anchors/<int:anchor_id>/attachments/<int:attachment_id>")
def attachment(round_id: int, anchor_id: int, attachment_id: int) -> Response:
    """An evidence file of an anchor in a round the assessor is assigned to (evidence, not key: no
    blindness rule applies, so it is available before scoring)."""
    _, anchor = _round_and_anchor(round_id, anchor_id)
    found = anchor_service.get_attachment(get_session(), anchor_id=anchor.id, attachment_id=attachment_id)
    return send_attachment(anchor_service.attachment_file(found, current_app.config["ATTACHMENT_DIR"]))
