"""Program members, for the admin pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Membership, User


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
