"""Notices sent at most once: expiry reminders and "recalibration due" notices.

Each notice has a key naming what it is about (``expiry-reminder:<membership>:<expiry date>``), so a
renewed certification gets its own reminder while a second run of the command finds the key taken.
Sending is claim, commit, send, mark: the claim is an insert against a unique key, so two runs at
the same time cannot both claim one notice; if sending fails the claim is released for the next run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import CertificationStatus, Membership, Program, Role, SentNotice, User
from .certification import Policy
from .timezones import DEFAULT_ZONE, reader_zone_of

EXPIRY_REMINDER = "expiry-reminder"
RECALIBRATION_DUE = "recalibration-due"


@dataclass(frozen=True)
class DueNotice:
    key: str
    kind: str
    user_id: int
    email: str
    name: str
    program_name: str
    expires_at: dt.datetime
    zone: str = DEFAULT_ZONE  # the zone the person reads times in: their own, else the program's


def due_notices(session: Session, *, defaults: Policy, now: dt.datetime | None = None) -> list[DueNotice]:
    """Notices whose time has come and that have not been claimed yet."""
    now = now or utcnow()
    rows = session.execute(
        select(
            Membership.id,
            Membership.certification_status,
            Membership.certification_expires_at,
            Program.settings_json,
            Program.name,
            User.id,
            User.email,
            User.name,
            User.timezone,
            Program.timezone,
        )
        .join(Program, Program.id == Membership.program_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.role == Role.ASSESSOR,
            User.is_active.is_(True),
            Membership.certification_expires_at.is_not(None),
            Membership.certification_status.in_(
                [CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE]
            ),
        )
        .order_by(Membership.id)
    ).all()
    out = []
    for mid, status, expires, settings_json, program_name, uid, email, name, own_zone, program_zone in rows:
        if expires is None:  # excluded by the query; tells the type checker
            continue
        if status == CertificationStatus.CERTIFIED:
            ahead = dt.timedelta(days=defaults.for_program(settings_json).reminder_days)
            if not now < expires <= now + ahead:
                continue
            kind = EXPIRY_REMINDER
        elif expires <= now:
            kind = RECALIBRATION_DUE
        else:
            continue
        key = f"{kind}:{mid}:{expires:%Y-%m-%d}"
        zone = reader_zone_of(own_zone, program_zone)
        out.append(DueNotice(key, kind, uid, email, name, program_name, expires, zone))
    taken = set(session.scalars(select(SentNotice.key).where(SentNotice.key.in_([n.key for n in out]))))
    return [n for n in out if n.key not in taken]


def claim(session: Session, notice: DueNotice, *, now: dt.datetime | None = None) -> bool:
    """Record the notice as being sent; False when someone else already has (nothing changed then)."""
    try:
        with session.begin_nested():
            session.add(
                SentNotice(
                    key=notice.key, kind=notice.kind, user_id=notice.user_id, claimed_at=now or utcnow()
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def mark_sent(session: Session, key: str, *, now: dt.datetime | None = None) -> None:
    session.execute(update(SentNotice).where(SentNotice.key == key).values(sent_at=now or utcnow()))


def release(session: Session, key: str) -> None:
    """Give up a claim whose mail could not be sent, so the next run tries again."""
    session.execute(delete(SentNotice).where(SentNotice.key == key, SentNotice.sent_at.is_(None)))
