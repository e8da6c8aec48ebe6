"""Invitation mail: the link to accept an invitation, written to the outbox
(:mod:`calibration.notify.outbox`) in the transaction that creates the links, so it is sent after
the commit (a link works when it arrives) and only if the invitation was kept.

The mail names the trainer who sent it, and replies go to them (``Reply-To``): a person who does
not know the service can ask the one who invited them, not a no-reply address."""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import formataddr

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import User
from ..services import onboarding
from . import mail, outbox


def queue_invitations(
    session: Session,
    invited: Iterable[onboarding.Invited],
    *,
    program_id: int,
    days: int,
    inviter_id: int,
) -> list[int]:
    """Queue each invitation's mail in ``session``, from ``inviter_id`` (named in the mail, and
    where replies go); the outbox ids (needs a request context for the links)."""
    program_name = onboarding.program_name(session, program_id)
    row = session.execute(select(User.name, User.email).where(User.id == inviter_id)).one()
    inviter_name, inviter_email = mail.one_line(row.name), mail.one_line(row.email)
    return [
        outbox.queue(
            session,
            mail.render_mail(
                "invitation",
                to=i.email,
                subject=f"You are invited to assess for {program_name}",
                reply_to=formataddr((inviter_name, inviter_email)),
                program_name=program_name,
                inviter_name=inviter_name,
                inviter_email=inviter_email,
                link=url_for("account.accept_invitation", token=i.token, _external=True),
                days=days,
            ),
            kind="invitation",
            program_id=program_id,
            user_id=i.user_id,
        ).id
        for i in invited
    ]
