"""Drift flags and recalibration sessions for lead trainers: review flags (confirm starts
recalibration, dismiss needs a reason), schedule sessions, see attendance and results, move or
cancel bookings, and reschedule a session (everyone booked gets the updated invitation). Thin
views over :mod:`calibration.services.drift`, ``recalibration`` and ``sessions``: the booking
services record their changes, and the transaction boundary queues the booking mails with them
and sends them after the commit (:mod:`calibration.notify.bookings`)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ...db import get_session, utcnow
from ...models import FlagRule, FlagStatus, SessionStatus
from ...notify import outbox
from ...services import (
    anchor_waits,
    control_charts,
    drift,
    hand_booking,
    lists_drift,
    recalibration,
    sessions,
)
from ...services import flags as flag_service
from ...services.flag_page import flag_page
from ...services.timezones import split_local
from ..boundary import MailOutcome, attempt, page
from ..guards import actor
from ..times import program_zone, session_when
from .blueprint import bp
from .forms_drift import (
    AttendanceForm,
    BookAssessorForm,
    CancelSessionForm,
    ConfirmFlagForm,
    DismissFlagForm,
    MoveForm,
    RetryForm,
    RetryMailForm,
    SessionForm,
)
from .list_args import list_args
from .reports import control_figures

Page = Response | str | tuple[str, int]


def _program() -> int:
    return actor().program_id


def _mail_report(mail: MailOutcome) -> None:
    """After the commit the boundary sent the booking mails of the change and retried the
    program's earlier mail that is due again (``due_for_program``). A mail that fails is recorded
    (never an error page) and shown to trainers."""
    failed = mail.failed
    if failed:
        flash(
            f"{failed} mail(s) could not be sent yet. They are kept and retried automatically; "
            "see “Mail not sent” on the session page or the program's mail page.",
            "error",
        )


# ------------------------------------------------------------------------------------- flags
FLAG_STATUSES = {s.value: s.value for s in FlagStatus}
FLAG_KINDS = {kind: kind for kind in lists_drift.FLAG_KINDS}
SESSION_STATUSES = {s.value: s.value for s in SessionStatus}


@bp.get("/flags")
def flags() -> str:
    db_session = get_session()
    program_id = _program()
    args = list_args(statuses=FLAG_STATUSES, kinds=FLAG_KINDS)
    return render_template(
        "trainer/flags.html",
        paged=lists_drift.flags_page(db_session, program_id, args.filter),
        args=args,
        statuses=FLAG_STATUSES,
        kinds=FLAG_KINDS,
        waiting=sessions.waiting_assessors(db_session, program_id),
        waits=anchor_waits.waiting_lines(db_session, program_id),
        retry=RetryForm(formdata=None),
    )


def _flag_page(
    flag_id: int,
    *,
    confirm: ConfirmFlagForm | None = None,
    dismiss: DismissFlagForm | None = None,
    page_error: str | None = None,
) -> Page:
    db_session = get_session()
    program_id = _program()
    found = flag_service.get_flag(
        db_session, program_id=program_id, flag_id=flag_id
    )  # 404 outside the program
    [line] = flag_service.flag_lines(db_session, program_id, flag_id=flag_id)
    # The flagged assessor's wait (whichever of their flags began it), or a cohort flag's waits.
    waits = (
        anchor_waits.waiting_lines(db_session, program_id, user_id=found.user_id)
        if found.user_id is not None
        else anchor_waits.waiting_lines(db_session, program_id, flag_id=flag_id)
    )
    control = (
        control_figures(
            control_charts.assessor_control_charts(
                db_session, program_id=program_id, user_id=found.user_id, flag=found
            ),
            line.name or "",
        )
        if found.user_id is not None and found.rule != FlagRule.EXPIRY
        else []
    )
    html = render_template(
        "trainer/flag.html",
        line=line,
        view=flag_page(db_session, program_id=program_id, line=line),
        ewma_charts=control,
        confirm=confirm or ConfirmFlagForm(formdata=None, prefix="confirm"),
        dismiss=dismiss or DismissFlagForm(formdata=None, prefix="dismiss"),
        waits=waits,
        retry=RetryForm(formdata=None),
        page_error=page_error,
    )
    return page(html, page_error)


@bp.get("/flags/<int:flag_id>")
def flag(flag_id: int) -> Page:
    return _flag_page(flag_id)


@bp.post("/flags/<int:flag_id>/confirm")
def flag_confirm(flag_id: int) -> Page:
    me = actor()
    flag_service.get_flag(get_session(), program_id=me.program_id, flag_id=flag_id)
    form = ConfirmFlagForm(prefix="confirm")
    if not form.validate_on_submit():
        return _flag_page(flag_id, confirm=form, page_error="The note needs attention; nothing was changed.")
    if form.acknowledged.data != "yes":
        step = _cohort_step(flag_id, form)
        if step is not None:
            return step
    outcome = attempt(
        lambda s: recalibration.confirm_flag(
            s, me, program_id=me.program_id, flag_id=flag_id, reason=form.reason.data or ""
        ),
        form=form,
        due_for_program=me.program_id,
    )
    if not outcome.ok:
        return _flag_page(flag_id, confirm=form, page_error=outcome.message)
    started = outcome.value
    if not started and flag_service.get_flag(
        get_session(), program_id=me.program_id, flag_id=flag_id
    ).rule == (FlagRule.LEAN):
        flash(
            "Lean marked as discussed. A lean is feedback, not drift: no recalibration was started.", "info"
        )
        return redirect(url_for(".flag", flag_id=flag_id))
    problems = [s.problem for s in started if s.problem and s.waiting is None]
    booked = sum(1 for s in started if s.booking is not None)
    unbooked = sum(1 for s in started if s.recalibration is not None and s.booking is None)
    waits = sum(1 for s in started if s.waiting is not None)
    flash(
        f"Flag confirmed: {sum(1 for s in started if s.recalibration is not None)} recalibration(s) started, "
        f"{booked} booked into a session"
        + (f"; {waits} waiting for anchors (listed below, with what is missing)." if waits else "."),
        "info",
    )
    if unbooked:
        flash(
            f"{unbooked} assessor(s) need a session: no session with room in the window. Open one.", "error"
        )
    for p in problems:
        flash(p, "error")
    _mail_report(outcome.mail)
    return redirect(url_for(".flag", flag_id=flag_id))


def _cohort_step(flag_id: int, form: ConfirmFlagForm) -> str | None:
    """The second step of confirming a cohort flag: who recalibration will start for, and one more
    button. Nothing is changed until that button is pressed (the form then carries ``acknowledged``)."""
    db_session = get_session()
    program_id = _program()
    [line] = flag_service.flag_lines(db_session, program_id, flag_id=flag_id)
    view = flag_page(db_session, program_id=program_id, line=line)
    if not view.needs_confirmation_step or line.flag.status.value != "open":
        return None
    form.acknowledged.data = "yes"
    return render_template("trainer/flag_confirm.html", line=line, view=view, confirm=form)


@bp.post("/flags/<int:flag_id>/dismiss")
def flag_dismiss(flag_id: int) -> Page:
    me = actor()
    flag_service.get_flag(get_session(), program_id=me.program_id, flag_id=flag_id)
    form = DismissFlagForm(prefix="dismiss")
    if not form.validate_on_submit():
        return _flag_page(flag_id, dismiss=form, page_error="Give a reason; nothing was changed.")
    outcome = attempt(
        lambda s: flag_service.dismiss(
            s, me, program_id=me.program_id, flag_id=flag_id, reason=form.reason.data or ""
        ),
        form=form,
    )
    if not outcome.ok:
        return _flag_page(flag_id, dismiss=form, page_error=outcome.message)
    flash("Flag dismissed.", "info")
    return redirect(url_for(".flag", flag_id=flag_id))


@bp.post("/recalibration/waits/<int:wait_id>/retry")
def wait_retry(wait_id: int) -> Page:
    """Try again now to start a recalibration that waits for anchors."""
    me = actor()
    wait = anchor_waits.get_wait(get_session(), program_id=me.program_id, wait_id=wait_id)  # 404 first
    form = RetryForm()
    back = {
        "flags": url_for(".flags"),
        "person": url_for(".person", user_id=wait.user_id),
    }.get(form.back.data or "", url_for(".flag", flag_id=wait.flag_id) if wait.flag_id else url_for(".flags"))
    if not form.validate_on_submit():
        flash("The form could not be read; nothing was changed. Try again.", "error")
        return redirect(back)

    def work(s: Session) -> tuple[recalibration.Started, str]:
        result = recalibration.trainer_retry(s, me, program_id=me.program_id, wait_id=wait_id)
        round_name = result.recalibration.round.name if result.recalibration is not None else ""
        return result, round_name  # the name is read before the commit expires the round

    outcome = attempt(work, due_for_program=me.program_id)
    if not outcome.ok:
        flash(outcome.message, "error")
        return redirect(back)
    result, round_name = outcome.value
    if result.recalibration is not None:
        flash(
            f"Recalibration started: “{round_name}”"
            + (", booked into a session." if result.booking is not None else "; no session with room yet."),
            "info",
        )
        _mail_report(outcome.mail)
    elif result.waiting is not None:
        flash(f"Still waiting for anchors. {result.problem}", "error")
    else:
        flash(result.problem or "Nothing was changed.", "info")
    return redirect(back)


# ---------------------------------------------------------------------------------- sessions
def _session_form(formdata: bool = True) -> SessionForm:
    form = SessionForm() if formdata else SessionForm(formdata=None)
    form.trainer_id.choices = sessions.trainer_choices(get_session(), _program())
    if not formdata and form.trainer_id.data is None:
        form.trainer_id.data = actor().user_id
    if not formdata and not form.timezone.data:
        form.timezone.data = program_zone()
    return form


def _sessions_page(form: SessionForm, page_error: str | None = None) -> Page:
    db_session = get_session()
    program_id = _program()
    args = list_args(statuses=SESSION_STATUSES)
    html = render_template(
        "trainer/sessions.html",
        form=form,
        paged=lists_drift.sessions_page(db_session, program_id, args.filter),
        args=args,
        statuses=SESSION_STATUSES,
        waiting=sessions.waiting_assessors(db_session, program_id),
        window_days=drift.program_drift_settings(db_session, program_id).recalibration_window_days,
        now=utcnow(),
        page_error=page_error,
    )
    return page(html, page_error)


@bp.route("/sessions", methods=["GET", "POST"])
def sessions_page() -> Page:
    me = actor()
    form = _session_form(formdata=True)
    if form.validate_on_submit():

        def work(s: Session) -> tuple[int, str, int]:
            done = sessions.schedule_session(
                s,
                me,
                program_id=me.program_id,
                title=form.title.data or "",
                date=form.date.data,
                time=form.time.data,
                timezone=form.timezone.data or "",
                duration_minutes=form.duration_minutes.data,
                location=form.location.data or "",
                trainer_id=form.trainer_id.data,
                capacity=form.capacity.data,
            )
            return done.row.id, done.row.title, len(done.booked)

        outcome = attempt(work, form=form, due_for_program=me.program_id)
        if not outcome.ok:
            return _sessions_page(form, outcome.message)
        session_id, title, booked = outcome.value
        flash(f"Session “{title}” scheduled; {booked} waiting assessor(s) booked into sessions.", "info")
        _mail_report(outcome.mail)
        return redirect(url_for(".session_page", session_id=session_id))
    if form.is_submitted():
        return _sessions_page(form, "Some fields need attention; what you typed is kept below.")
    return _sessions_page(_session_form(formdata=False))


def _edit_form(row: Any | None = None) -> SessionForm:
    """The reschedule form: posted values, or the session's own (its local date and time)."""
    if row is None:
        form = SessionForm(prefix="edit")
    else:
        day, time = split_local(row.starts_at, row.timezone)
        form = SessionForm(
            formdata=None,
            prefix="edit",
            title=row.title,
            date=day,
            time=time,
            timezone=row.timezone,
            duration_minutes=row.duration_minutes,
            location=row.location,
            trainer_id=row.trainer_id,
            capacity=row.capacity,
        )
    form.trainer_id.choices = sessions.trainer_choices(get_session(), _program())
    return form


def _session_detail(
    session_id: int,
    *,
    move: MoveForm | None = None,
    cancel: CancelSessionForm | None = None,
    edit: SessionForm | None = None,
    book: BookAssessorForm | None = None,
    page_error: str | None = None,
) -> Page:
    db_session = get_session()
    program_id = _program()
    row = sessions.get_session_row(db_session, program_id=program_id, session_id=session_id)
    now = utcnow()
    others = [
        (line.row.id, f"{line.row.title}, {session_when(line.row)} ({line.room} places left)")
        for line in sessions.session_lines(db_session, program_id)
        if line.row.id != row.id and line.row.status.value == "scheduled" and line.row.starts_at > now
    ]
    move = move or MoveForm(formdata=None, prefix="move")
    move.target.choices = others
    book = book or BookAssessorForm(formdata=None, prefix="book")
    book.user_id.choices = _bookable(db_session, program_id, row.id)
    html = render_template(
        "trainer/session.html",
        row=row,
        when=session_when(row),
        people=sessions.attendees(db_session, row.id),
        booked=sessions.booked_count(db_session, row.id),
        move=move,
        book=book,
        cancel=cancel or CancelSessionForm(formdata=None, prefix="cancel"),
        edit=edit or _edit_form(row),
        editable=row.status.value == "scheduled" and row.starts_at > now,
        started=row.status.value == "scheduled" and row.starts_at <= now,
        attendance=AttendanceForm(formdata=None, prefix="attendance"),
        has_targets=bool(others),
        unsent=outbox.undelivered(db_session, program_id=program_id, session_id=row.id),
        page_error=page_error,
    )
    return page(html, page_error)


# ------------------------------------------------------------------------------------- mail
@bp.get("/mail")
def mail_page() -> str:
    """The program's mail that has not gone out (booking invitations, reminders, review notices)."""
    return render_template(
        "trainer/mail.html",
        unsent=outbox.undelivered(get_session(), program_id=_program()),
        form=RetryMailForm(),
    )


@bp.post("/mail/retry")
def mail_retry() -> Response:
    """Try the program's undelivered mail again now (also the ones that were given up on)."""
    form = RetryMailForm()
    if not form.validate_on_submit():
        flash("The form had expired; nothing was sent. Try again.", "error")
        return redirect(url_for(".mail_page"))
    program_id = _program()
    outcome = attempt(
        lambda s: outbox.retry_failed(s, program_id=program_id), refuse=(), due_for_program=program_id
    )
    assert outcome.ok  # refuse=(): nothing is refused here, an error propagates
    sent, failed = outcome.mail.sent, outcome.mail.failed
    if failed:
        flash(f"{sent} mail(s) sent; {failed} still could not be sent.", "error")
    else:
        flash(f"{sent} of {outcome.value} mail(s) sent.", "info")
    return redirect(url_for(".mail_page"))


@bp.get("/sessions/<int:session_id>")
def session_page(session_id: int) -> Page:
    return _session_detail(session_id)


@bp.post("/sessions/<int:session_id>/edit")
def session_edit(session_id: int) -> Page:
    me = actor()
    sessions.get_session_row(get_session(), program_id=me.program_id, session_id=session_id)  # 404 first
    form = _edit_form()
    if not form.validate_on_submit():
        return _session_detail(
            session_id, edit=form, page_error="Some fields need attention; nothing was changed."
        )
    outcome = attempt(
        lambda s: sessions.reschedule_session(
            s,
            me,
            program_id=me.program_id,
            session_id=session_id,
            title=form.title.data or "",
            date=form.date.data,
            time=form.time.data,
            timezone=form.timezone.data or "",
            duration_minutes=form.duration_minutes.data,
            location=form.location.data or "",
            trainer_id=form.trainer_id.data,
            capacity=form.capacity.data,
        ),
        form=form,
        due_for_program=me.program_id,
    )
    if not outcome.ok:
        return _session_detail(session_id, edit=form, page_error=outcome.message)
    _, updated = outcome.value
    flash(
        f"Session changed; {updated} booked assessor(s) are sent the updated invitation."
        if updated
        else "Session changed.",
        "info",
    )
    _mail_report(outcome.mail)
    return redirect(url_for(".session_page", session_id=session_id))


@bp.post("/sessions/<int:session_id>/cancel")
def session_cancel(session_id: int) -> Page:
    me = actor()
    sessions.get_session_row(get_session(), program_id=me.program_id, session_id=session_id)
    form = CancelSessionForm(prefix="cancel")
    if not form.validate_on_submit():
        return _session_detail(session_id, cancel=form, page_error="Give a reason; nothing was changed.")
    outcome = attempt(
        lambda s: sessions.cancel_session(
            s, me, program_id=me.program_id, session_id=session_id, reason=form.reason.data or ""
        ),
        form=form,
        due_for_program=me.program_id,
    )
    if not outcome.ok:
        return _session_detail(session_id, cancel=form, page_error=outcome.message)
    flash("Session cancelled; attendees are sent a cancellation.", "info")
    _mail_report(outcome.mail)
    return redirect(url_for(".session_page", session_id=session_id))


@bp.post("/sessions/<int:session_id>/bookings/<int:booking_id>/attendance")
def booking_attendance(session_id: int, booking_id: int) -> Page:
    me = actor()
    sessions.get_session_row(get_session(), program_id=me.program_id, session_id=session_id)  # 404 first
    form = AttendanceForm(prefix="attendance")
    if not form.validate_on_submit():
        return _session_detail(
            session_id, page_error="Choose attended or did not attend; nothing was changed."
        )

    def work(s: Session) -> tuple[str, bool | None]:
        booking = sessions.mark_attendance(
            s,
            me,
            program_id=me.program_id,
            session_id=session_id,
            booking_id=booking_id,
            attended=form.attended.data == "yes",
        )
        return booking.user.name, booking.attended

    outcome = attempt(work)
    if not outcome.ok:
        return _session_detail(session_id, page_error=outcome.message)
    name, attended = outcome.value
    flash(f"Recorded: {name} {'attended' if attended else 'did not attend'}.", "info")
    return redirect(url_for(".session_page", session_id=session_id))


@bp.post("/sessions/<int:session_id>/bookings/<int:booking_id>/move")
def booking_move(session_id: int, booking_id: int) -> Page:
    me = actor()
    db_session = get_session()
    sessions.get_session_row(db_session, program_id=me.program_id, session_id=session_id)
    form = MoveForm(prefix="move")
    form.target.choices = [
        (line.row.id, line.row.title) for line in sessions.session_lines(db_session, me.program_id)
    ]
    if not form.validate_on_submit():
        return _session_detail(session_id, page_error="Choose a session to move to; nothing was changed.")
    outcome = attempt(
        lambda s: (
            sessions.move_booking(
                s, me, program_id=me.program_id, booking_id=booking_id, target_session_id=form.target.data
            ).session_id
        ),
        due_for_program=me.program_id,
    )
    if not outcome.ok:
        return _session_detail(session_id, page_error=outcome.message)
    flash("Booking moved; the assessor is sent the cancellation and the new invitation.", "info")
    _mail_report(outcome.mail)
    return redirect(url_for(".session_page", session_id=outcome.value))


# ------------------------------------------------------------------------- booking by hand
def _bookable(db_session: Session, program_id: int, session_id: int) -> list[tuple[int, str]]:
    """The assessors "Book an assessor" offers: those waiting for a session first, and said so."""
    return [
        (b.user_id, f"{b.name} (waiting for a session)" if b.waiting else b.name)
        for b in hand_booking.bookable_assessors(db_session, program_id=program_id, session_id=session_id)
    ]


@bp.post("/sessions/<int:session_id>/book")
def session_book(session_id: int) -> Page:
    me = actor()
    db_session = get_session()
    sessions.get_session_row(db_session, program_id=me.program_id, session_id=session_id)  # 404 first
    form = BookAssessorForm(prefix="book")
    form.user_id.choices = _bookable(db_session, me.program_id, session_id)
    if not form.validate_on_submit():
        return _session_detail(
            session_id, book=form, page_error="Choose an assessor to book; nothing was changed."
        )
    outcome = attempt(
        lambda s: hand_booking.book_named(
            s, me, program_id=me.program_id, session_id=session_id, user_id=form.user_id.data
        ),
        form=form,
        due_for_program=me.program_id,
    )
    if not outcome.ok:
        return _session_detail(session_id, book=form, page_error=outcome.message)
    flash("Assessor booked; they are sent the invitation.", "info")
    _mail_report(outcome.mail)
    return redirect(url_for(".session_page", session_id=session_id))
