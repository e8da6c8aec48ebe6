"""Things a use case did that others must hear about once its transaction commits (mail, mostly).

A service records an event with :func:`emit`, in the caller's session, next to the rows it wrote.
It never sends anything itself: the transaction boundary (a web request's
:func:`calibration.web.boundary.attempt`, or a CLI command) hands the events to the notify layer,
which writes the mail they call for to the outbox in the *same* transaction, commits, and then
delivers what it queued. So a mail exists if and only if the change that called for it was kept:
a rollback throws away the events together with the rows.

Events are plain frozen values (ids only): the notify layer reads what it needs itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

_KEY = "calibration.events"


@dataclass(frozen=True)
class BookingsChanged:
    """Recalibration bookings of these users were made, moved or cancelled: their invitation,
    update or cancellation (with its calendar file) is due."""

    user_ids: tuple[int, ...]


@dataclass(frozen=True)
class ScoreCorrected:
    """A trainer corrected a final score: the assessor hears of it."""

    correction_id: int


@dataclass(frozen=True)
class ChallengeRaised:
    """An assessor questioned a key: the program's lead trainers hear of it."""

    challenge_id: int


@dataclass(frozen=True)
class ChallengeAnswered:
    """A trainer answered a challenge: the assessor who raised it hears of it."""

    challenge_id: int


@dataclass(frozen=True)
class CertificationGranted:
    """An assessor became certified (first time, renewal, approval or reinstatement): their Open
    Badges credential is issued in the same transaction, signed with the program's key."""

    program_id: int
    user_id: int


Event = BookingsChanged | ScoreCorrected | ChallengeRaised | ChallengeAnswered | CertificationGranted


def emit(session: Session, event: Event) -> None:
    """Record ``event`` in ``session``'s transaction (kept only if that transaction commits)."""
    session.info.setdefault(_KEY, []).append(event)


def take(session: Session) -> list[Event]:
    """Remove and return the events recorded in ``session`` since the last take, oldest first."""
    events: list[Event] = session.info.pop(_KEY, [])
    return events


def pending(session: Session) -> list[Event]:
    """The events recorded and not yet taken (for tests and checks); the list is a copy."""
    return list(session.info.get(_KEY, []))


@sa_event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    """A rolled-back transaction keeps nothing, its events included."""
    session.info.pop(_KEY, None)
