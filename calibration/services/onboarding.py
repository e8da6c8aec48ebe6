"""Onboarding: invitations, accepting one, password resets, and the training rounds a new assessor gets.

An invitation creates the account (no password yet) with an assessor membership in ``invited``
status and a single-use link (:mod:`calibration.services.tokens`). Accepting it sets the name and
password, moves the membership to ``in_training`` and assigns, without a trainer, a practice round
(every active practice anchor with a key: feedback after each, never counted) and the first
qualification round (anchors chosen automatically to cover every level of every criterion, never
one the assessor has seen). The caller sends the mail after committing, with the returned token.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    AccountToken,
    CertificationStatus,
    Membership,
    Program,
    Role,
    TokenPurpose,
    User,
)
from . import audit, tokens
from .auth import LoginResult, authenticate, normalise_email, set_password
from .certification import set_status
from .common_passwords import is_common
from .context import Actor, Member, Person, SystemActor
from .errors import InvalidInput, NotFound
from .policy import QUALIFICATION_WINDOW_DAYS
from .scoring import ONE_LINE_MESSAGE, has_control_characters, is_one_line
from .selection import CoverageImpossible
from .tokens import TokenInvalid
from .training import assign_practice_round, assign_qualification_round

MAX_INVITES = 100
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 1024
NAME_MAX_CHARS = 200
_EMAIL = re.compile(r"^[^@\s<>\"(),;:\[\]]+@[^@\s<>\"(),;:\[\]]+\.[^@\s<>\"(),;:\[\]]+$")

TRAINER_ROLES = (Role.LEAD_TRAINER, Role.ADMIN)


def _require_trainer(actor: Member) -> None:
    if actor.role not in TRAINER_ROLES:
        raise NotFound("people")


# ------------------------------------------------------------------------------------ invitations
def parse_emails(text: str) -> tuple[list[str], list[str]]:
    """(addresses, problems) from one address or a pasted list (commas, semicolons, spaces or lines;
    ``Name <address>`` is read as the address). Duplicates are dropped."""
    found: list[str] = []
    problems: list[str] = []
    if has_control_characters(text):
        return [], ["The list contains a control character (such as NUL); paste plain addresses."]
    items: list[str] = []
    for segment in re.split(r"[,;\r\n]+", text):
        bracketed = re.search(r"<([^<>]*)>", segment)  # "Name <a@b.c>" -> a@b.c
        items += [bracketed.group(1)] if bracketed else segment.split()
    for raw in items:
        item = raw.strip().strip("<>").strip()
        if not item:
            continue
        address = normalise_email(item)
        if len(address) > 254 or not _EMAIL.match(address):
            problems.append(f"“{item[:80]}” is not an email address.")
        elif address not in found:
            found.append(address)
    if not found and not problems:
        problems.append("Enter at least one email address.")
    elif len(found) > MAX_INVITES:
        problems.append(f"Invite at most {MAX_INVITES} people at once (you entered {len(found)}).")
    return found, problems


@dataclass(frozen=True)
class Invited:
    user_id: int
    email: str
    name: str
    token: str  # for the emailed link only


def invite(
    session: Session,
    actor: Member,
    *,
    program_id: int,
    emails: str,
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> list[Invited]:
    """Invite every address in ``emails`` as an assessor of the program (all or nothing).

    Raises InvalidInput (field ``emails``) naming each address that is malformed or already has an
    account; nothing is written then.
    """
    _require_trainer(actor)
    now = now or utcnow()
    addresses, problems = parse_emails(emails)
    if addresses:
        taken = set(session.scalars(select(User.email).where(func.lower(User.email).in_(addresses))))
        problems += [
            f"{a} already has an account; a person already invited can be sent a new link from the list below."
            for a in addresses
            if a in taken
        ]
    if problems:
        raise InvalidInput("Nobody was invited; fix the list and try again.", {"emails": problems})
    out = []
    for address in addresses:
        user = User(email=address, name=address.split("@")[0], password_hash=None, created_at=now)
        session.add(user)
        session.flush()
        session.add(
            Membership(
                user_id=user.id,
                program_id=program_id,
                role=Role.ASSESSOR,
                certification_status=CertificationStatus.INVITED,
                created_at=now,
            )
        )
        issued = tokens.issue(
            session,
            purpose=TokenPurpose.INVITATION,
            user_id=user.id,
            program_id=program_id,
            lifetime=lifetime,
            created_by_id=actor.user_id,
            now=now,
        )
        audit.record(
            session,
            actor,
            "invitation.create",
            object_type="user",
            object_id=user.id,
            detail={"email": address, "expires_at": issued.row.expires_at.isoformat()},
        )
        out.append(Invited(user.id, address, user.name, issued.token))
    return out


def _invited_member(session: Session, program_id: int, user_id: int) -> tuple[User, Membership]:
    found = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.program_id == program_id, Membership.role == Role.ASSESSOR)
    ).one_or_none()
    if found is None:
        raise NotFound("invitation")
    user, membership = found
    if membership.certification_status != CertificationStatus.INVITED:
        raise InvalidInput(f"{user.email} has already accepted the invitation; nothing was changed.")
    return user, membership


def resend_invitation(
    session: Session,
    actor: Member,
    *,
    program_id: int,
    user_id: int,
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> Invited:
    """A new link for someone not yet accepted; the earlier link stops working."""
    _require_trainer(actor)
    user, _ = _invited_member(session, program_id, user_id)
    issued = tokens.issue(
        session,
        purpose=TokenPurpose.INVITATION,
        user_id=user.id,
        program_id=program_id,
        lifetime=lifetime,
        created_by_id=actor.user_id,
        now=now,
    )
    audit.record(
        session,
        actor,
        "invitation.resend",
        object_type="user",
        object_id=user.id,
        detail={"expires_at": issued.row.expires_at.isoformat()},
    )
    return Invited(user.id, user.email, user.name, issued.token)


def revoke_invitation(
    session: Session, actor: Member, *, program_id: int, user_id: int, now: dt.datetime | None = None
) -> User:
    """Withdraw the person's invitation link (they can be sent a new one later)."""
    _require_trainer(actor)
    user, _ = _invited_member(session, program_id, user_id)
    n = tokens.revoke_all(session, purpose=TokenPurpose.INVITATION, user_id=user.id, now=now)
    if n == 0:
        raise InvalidInput(f"{user.email} has no working invitation link to withdraw; nothing was changed.")
    audit.record(session, actor, "invitation.revoke", object_type="user", object_id=user.id)
    return user


@dataclass(frozen=True)
class InvitationLine:
    user_id: int
    name: str
    email: str
    status: CertificationStatus | None
    sent_at: dt.datetime | None
    expires_at: dt.datetime | None
    link_state: str  # "waiting", "expired", "withdrawn", "accepted", "none"

    @property
    def can_resend(self) -> bool:
        return self.status == CertificationStatus.INVITED

    @property
    def can_revoke(self) -> bool:
        return self.status == CertificationStatus.INVITED and self.link_state == "waiting"


def invitation_lines(
    session: Session, program_id: int, *, now: dt.datetime | None = None
) -> list[InvitationLine]:
    """Everyone the program invited, with their latest link's state (two queries)."""
    now = now or utcnow()
    people = session.execute(
        select(User.id, User.name, User.email, Membership.certification_status)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.program_id == program_id,
            Membership.role == Role.ASSESSOR,
            User.id.in_(select(AccountToken.user_id).where(AccountToken.purpose == TokenPurpose.INVITATION)),
        )
        .order_by(User.email)
    ).all()
    latest: dict[int, AccountToken] = {}
    for row in session.scalars(
        select(AccountToken)
        .where(
            AccountToken.purpose == TokenPurpose.INVITATION,
            AccountToken.user_id.in_([p.id for p in people]),
        )
        .order_by(AccountToken.id)
    ):
        latest[row.user_id] = row
    lines = []
    for p in people:
        t = latest.get(p.id)
        if t is None:
            state = "none"
        elif t.used_at is not None:
            state = "accepted"
        elif t.revoked_at is not None:
            state = "withdrawn"
        elif t.expires_at <= now:
            state = "expired"
        else:
            state = "waiting"
        lines.append(
            InvitationLine(
                p.id,
                p.name,
                p.email,
                p.certification_status,
                None if t is None else t.created_at,
                None if t is None else t.expires_at,
                state,
            )
        )
    return lines


# ------------------------------------------------------------------------------------- accepting
def check_password(password: str, confirm: str | None = None) -> dict[str, list[str]]:
    """Field errors for a new password (every path that sets one uses this): the length rule, no
    control characters, not a common password (:mod:`.common_passwords`), and the confirmation."""
    errors: dict[str, list[str]] = {}
    if len(password) < PASSWORD_MIN_CHARS:
        errors["password"] = [f"Choose a password of at least {PASSWORD_MIN_CHARS} characters."]
    elif len(password) > PASSWORD_MAX_CHARS:
        errors["password"] = [f"A password can be at most {PASSWORD_MAX_CHARS} characters."]
    elif has_control_characters(password):
        errors["password"] = ["The password contains a control character (such as NUL)."]
    elif is_common(password):
        errors["password"] = [
            "This password is one of the most common passwords, which attackers try first. "
            "Choose another: a few unrelated words make a strong one."
        ]
    elif confirm is not None and confirm != password:
        errors["confirm"] = ["The two passwords are not the same."]
    return errors


def check_name(name: str) -> str | None:
    """Why a person's name cannot be used, or None. A name goes into mail headers ("To: Name
    <address>"), so it must be one line: no line breaks, tabs or other control characters."""
    name = name.strip()
    if not name:
        return "Enter your name as colleagues know it."
    if len(name) > NAME_MAX_CHARS:
        return f"The name can be at most {NAME_MAX_CHARS} characters."
    if not is_one_line(name):
        return f"The name {ONE_LINE_MESSAGE}."
    return None


def invitation_for(
    session: Session, token: str, *, now: dt.datetime | None = None
) -> tuple[AccountToken, User]:
    """The usable invitation behind a link (TokenInvalid otherwise), for the accept page."""
    row = tokens.check(session, token, purpose=TokenPurpose.INVITATION, now=now)
    return row, row.user


@dataclass(frozen=True)
class Accepted:
    user: User
    program_id: int
    practice_round_id: int | None
    qualification_round_id: int | None
    qualification_problem: str | None  # why no qualification round could be assigned


def accept_invitation(
    session: Session,
    token: str,
    *,
    name: str,
    password: str,
    confirm: str | None = None,
    window: dt.timedelta = dt.timedelta(days=QUALIFICATION_WINDOW_DAYS),
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> Accepted:
    """Set the name and password, mark the link used, start training (practice + qualification).

    Raises TokenInvalid (nothing written) or InvalidInput with ``name``/``password``/``confirm`` errors.
    """
    now = now or utcnow()
    row = tokens.check(session, token, purpose=TokenPurpose.INVITATION, now=now)
    name = name.strip()
    errors = check_password(password, confirm)
    if problem := check_name(name):
        errors["name"] = [problem]
    if errors:
        raise InvalidInput("Some fields need attention.", errors)
    assert row.program_id is not None
    user = row.user
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.program_id == row.program_id)
    )
    if membership is None:
        raise NotFound("membership")
    tokens.consume(session, row, now=now)
    user.name = name
    set_password(session, user, password, reason="invitation_accepted")
    me = Member(user.id, row.program_id, Role.ASSESSOR, request_id)
    audit.record(session, me, "invitation.accept", object_type="user", object_id=user.id)
    set_status(session, me, membership, CertificationStatus.IN_TRAINING, reason="accepted the invitation")
    system = SystemActor(row.program_id, request_id)
    practice = assign_practice_round(
        session, system, program_id=row.program_id, user_id=user.id, window=window
    )
    qualification_id, problem = None, None
    try:
        qualification_id = assign_qualification_round(
            session, system, program_id=row.program_id, user_id=user.id, window=window
        ).id
    except (CoverageImpossible, InvalidInput) as exc:
        problem = str(exc)
        audit.record(
            session,
            system,
            "qualification.assign",
            object_type="user",
            object_id=user.id,
            outcome="unavailable",
            detail={"reason": problem},
        )
    return Accepted(
        user, row.program_id, None if practice is None else practice.id, qualification_id, problem
    )


# ------------------------------------------------------------------------------- password reset
@dataclass(frozen=True)
class ResetRequested:
    user: User | None  # None when no usable account has that address (the reply is the same)
    token: str | None


def request_password_reset(
    session: Session,
    email: str,
    *,
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
    request_id: str | None = None,
    max_per_hour: int = 3,
) -> ResetRequested:
    """A reset link for an active account that has a password; nothing for any other address.

    The caller answers the same in both cases, so the reply never tells which addresses exist.
    At most ``max_per_hour`` links per account in any hour (counted in the database, so across
    server processes): beyond that nothing is issued or sent, and the last link mailed still works.
    This stops anyone from flooding a colleague's inbox through the form.
    """
    now = now or utcnow()
    address = normalise_email(email)[:254]
    # Locked (PostgreSQL) so that requests handled at the same time count one after the other.
    user = session.scalar(select(User).where(func.lower(User.email) == address).with_for_update())
    if user is None or not user.is_active or user.password_hash is None:
        audit.record(
            session,
            SystemActor(None, request_id),
            "password.reset_request",
            outcome="no_account",
        )
        return ResetRequested(None, None)
    recent = session.scalar(
        select(func.count(AccountToken.id)).where(
            AccountToken.purpose == TokenPurpose.PASSWORD_RESET,
            AccountToken.user_id == user.id,
            AccountToken.created_at > now - dt.timedelta(hours=1),
        )
    )
    if (recent or 0) >= max_per_hour:
        audit.record(
            session,
            Person(user.id, request_id),
            "password.reset_request",
            object_type="user",
            object_id=user.id,
            outcome="throttled",
        )
        return ResetRequested(None, None)
    issued = tokens.issue(
        session,
        purpose=TokenPurpose.PASSWORD_RESET,
        user_id=user.id,
        program_id=None,
        lifetime=lifetime,
        now=now,
    )
    audit.record(
        session,
        Person(user.id, request_id),
        "password.reset_request",
        object_type="user",
        object_id=user.id,
    )
    return ResetRequested(user, issued.token)


def reset_link(session: Session, token: str, *, now: dt.datetime | None = None) -> AccountToken:
    """The usable reset link behind a token (TokenInvalid otherwise). A switched-off account's links
    are withdrawn when it is switched off; this refuses them besides, should one have been missed."""
    row = tokens.check(session, token, purpose=TokenPurpose.PASSWORD_RESET, now=now)
    if not row.user.is_active:
        raise TokenInvalid("revoked")
    return row


def reset_password(
    session: Session,
    token: str,
    *,
    password: str,
    confirm: str | None = None,
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> User:
    """Set a new password through a reset link; every open login session of the person ends."""
    now = now or utcnow()
    row = reset_link(session, token, now=now)
    errors = check_password(password, confirm)
    if errors:
        raise InvalidInput("Some fields need attention.", errors)
    tokens.consume(session, row, now=now)
    user = row.user
    set_password(session, user, password, reason="password_reset")
    audit.record(
        session,
        Person(user.id, request_id),
        "password.reset",
        object_type="user",
        object_id=user.id,
    )
    session.flush()
    return user


def change_password(session: Session, actor: Actor, *, current: str, password: str, confirm: str) -> str:
    """A signed-in person sets a new password, proving the current one. Every login session of theirs
    ends (an old cookie replayed anywhere fails); the returned token opens a fresh session for the
    browser that made the change. InvalidInput (field errors ``current``, ``password``, ``confirm``)."""
    from .auth import open_session, verify_password

    user = session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise NotFound("user")
    errors = check_password(password, confirm)
    if not verify_password(user.password_hash, current):
        errors["current"] = ["That is not your current password."]
    elif not errors and password == current:
        errors["password"] = ["Choose a password different from the current one."]
    if errors:
        raise InvalidInput("Some fields need attention; your password was not changed.", errors)
    set_password(session, user, password, reason="password_change")
    token = open_session(session, user.id)
    audit.record(session, actor, "password.change", object_type="user", object_id=user.id)
    session.flush()
    return token


def program_name(session: Session, program_id: int) -> str:
    return session.scalar(select(Program.name).where(Program.id == program_id)) or ""


def emails_of(session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())


def accept_and_sign_in(
    session: Session,
    token: str,
    *,
    name: str,
    password: str,
    confirm: str | None = None,
    window: dt.timedelta = dt.timedelta(days=QUALIFICATION_WINDOW_DAYS),
    request_id: str | None = None,
) -> LoginResult:
    """Accept the invitation (:func:`accept_invitation`) and sign the new assessor in with the
    password they just chose, in one transaction: the account is ready and its first session open,
    or (on any refusal) neither."""
    accepted = accept_invitation(
        session, token, name=name, password=password, confirm=confirm, window=window, request_id=request_id
    )
    return authenticate(session, accepted.user.email, password, request_id=request_id)
