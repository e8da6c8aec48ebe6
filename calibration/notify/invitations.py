"""Invitation mail: the link to accept an invitation, written to the outbox
(:mod:`calibration.notify.outbox`) in the transaction that creates the links, so it is sent after
the commit (a link works when it arrives) and only if the invitation was kept."""

from __future__ import annotations

from collections.abc import Iterable

from flask import url_for
from sqlalchemy.orm import Session

from ..services import onboarding
from . import mail, outbox


def queue_invitations(
    session: Session, invited: Iterable[onboarding.Invited], *, program_id: int, days: int
) -> list[int]:
    """Queue each invitation's mail in ``session``; the outbox ids (needs a request context for
    the links)."""
    program_name = onboarding.program_name(session, program_id)
    return [
        outbox.queue(
            session,
            mail.render_mail(
                "invitation",
                to=i.email,
                subject=f"You are invited to assess for {program_name}",
                program_name=program_name,
                link=url_for("account.accept_invitation", token=i.token, _external=True),
                days=days,
            ),
            kind="invitation",
            program_id=program_id,
            user_id=i.user_id,
        ).id
        for i in invited
    ]
