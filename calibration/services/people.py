"""Program members, for the admin pages: who they are, and switching an account off and on."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Membership, TokenPurpose, User
from . import audit, tokens
from .auth import end_all_sessions
from .certification import check_reason
from .context import Member
from .errors import InvalidInput, NotFound


def program_members(session: Session, program_id: int) -> list[tuple[User, Membership]]:
    return [
        (user, membership)
        for user, membership in session.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.program_id == program_id)
            .order_by(Membership.role, User.name)
        ).all()
    ]


def set_active(
    session: Session, actor: Member, *, program_id: int, user_id: int, active: bool, reason: str
) -> User:
    """Switch a member's account off (every login session ends at once; logging in is refused) or
    back on, with a reason (audited). NotFound outside the program; an admin cannot switch off their
    own account (someone must be able to switch it back on). Switching off also withdraws every
    outstanding password-reset link."""
    user = session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.program_id == program_id)
    )
    if user is None:
        raise NotFound("user")
    reason = check_reason(reason)
    if user.id == actor.user_id and not active:
        raise InvalidInput("You cannot switch off your own account; nothing was changed.")
    if user.is_active == active:
        state = "on" if active else "off"
        raise InvalidInput(f"{user.name}'s account is already switched {state}; nothing was changed.")
    user.is_active = active
    if not active:
        end_all_sessions(session, user.id, reason="deactivated")
        # A reset link mailed earlier must not reopen the account later.
        tokens.revoke_all(session, purpose=TokenPurpose.PASSWORD_RESET, user_id=user.id)
    audit.record(
        session,
        actor,
        "user.activate" if active else "user.deactivate",
        object_type="user",
        object_id=user.id,
        program_id=program_id,
        detail={"reason": reason},
    )
    session.flush()
    return user
