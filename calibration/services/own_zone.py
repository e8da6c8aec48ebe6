"""One's own time zone: the zone an assessor reads times in (None: their program's zone)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import User
from . import audit
from .context import Actor
from .errors import InvalidInput, NotFound
from .timezones import check_zone, zone_problem


def set_own_timezone(session: Session, actor: Actor, *, timezone: str) -> str | None:
    """Set (or, with an empty name, clear) the acting person's own zone; audited when it changes.

    Returns the zone now stored (None: the program's). Raises InvalidInput (field ``timezone``)
    for a name that is not an IANA zone."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.is_active:
        raise NotFound("user")
    typed = timezone.strip()
    new: str | None = None
    if typed:
        zone = check_zone(typed)
        if zone is None:
            raise InvalidInput(
                "Your time zone was not changed.", {"timezone": [zone_problem(typed) or "Not a time zone."]}
            )
        new = zone.key
    if new == user.timezone:
        return new
    old, user.timezone = user.timezone, new
    session.flush()
    audit.record(
        session,
        actor,
        "user.timezone_changed",
        object_type="user",
        object_id=user.id,
        detail={"old": old, "new": new},
    )
    return new
