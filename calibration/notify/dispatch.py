"""The one way mail leaves a transaction: events recorded by services become outbox rows in the
same transaction (here), and the boundary that commits delivers exactly those rows afterwards.

:func:`queue_for` is called by the transaction boundary just before it commits: it turns each
event (:mod:`calibration.services.events`) into the mail it calls for, and returns the ids of every
outbox row written in this transaction (by an event here, or directly by a use case of the notify
layer such as an invitation), for the boundary to deliver once the commit has succeeded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from flask import current_app
from sqlalchemy.orm import Session

from ..models import KeyChallenge, ScoreCorrection
from ..services import credentials, events
from . import bookings, outbox, reviews

T = TypeVar("T")


def queue_for(session: Session, happened: Iterable[events.Event]) -> tuple[int, ...]:
    """Queue the mail ``happened`` calls for, in ``session``, and issue the Open Badges credentials
    that certifications granted in it call for (signed with the program's key, which needs the
    configuration); the ids of all mail queued in it."""
    booked: set[int] = set()
    granted: list[events.CertificationGranted] = []
    for event in happened:
        if isinstance(event, events.CertificationGranted):
            granted.append(event)
        elif isinstance(event, events.BookingsChanged):
            booked.update(event.user_ids)
        elif isinstance(event, events.ScoreCorrected):
            reviews.score_corrected(session, _get(session, ScoreCorrection, event.correction_id))
        elif isinstance(event, events.ChallengeRaised):
            reviews.challenge_raised(session, _get(session, KeyChallenge, event.challenge_id))
        elif isinstance(event, events.ChallengeAnswered):
            reviews.challenge_answered(session, _get(session, KeyChallenge, event.challenge_id))
    if booked:
        bookings.queue_booking_mails(session, user_ids=sorted(booked))
    if granted:
        credentials.issue_granted(
            session, credentials.IssuerSettings.from_config(current_app.config), granted
        )
    return outbox.take_queued(session)


def _get(session: Session, model: type[T], row_id: int) -> T:
    found = session.get(model, row_id)
    if found is None:  # the event was recorded with the row's id in this very transaction
        raise LookupError(f"{model.__name__} {row_id} recorded by an event is gone")
    return found
