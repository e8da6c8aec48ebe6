"""Who saw which master key: an audit row when a key and its rationale are shown.

Seeing a key is part of the trail (an assessor who has seen a key can no longer be scored blind
on that anchor). The row is ``anchor.key_view`` on the object ``anchor_key_version`` (the exact
version shown), with the anchor, the version number and where it was shown in the detail.

- An assessor sees a key on the feedback page of a final sheet. Only the first showing of a key
  version to that assessor is recorded: reloading the feedback (or reaching it again after a
  double submit or a question to the trainer) writes nothing more.
- A trainer sees the key on the anchor's page (current key and the history of versions), on
  the key form and on a key challenge (the questioned version's rationale): one row per view,
  since each look can precede a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent
from . import audit
from .context import Actor

KEY_VIEW = "anchor.key_view"
OBJECT_TYPE = "anchor_key_version"


def has_seen(session: Session, *, user_id: int, key_version_id: int) -> bool:
    """True when a view of this key version by this user is already in the trail."""
    found = session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.actor_id == user_id,
            AuditEvent.action == KEY_VIEW,
            AuditEvent.object_type == OBJECT_TYPE,
            AuditEvent.object_id == str(key_version_id),
        )
        .limit(1)
    )
    return found is not None


def record_key_view(
    session: Session,
    actor: Actor,
    *,
    anchor_id: int,
    key_version_id: int,
    version: int,
    via: str,
    round_id: int | None = None,
    sheet_id: int | None = None,
    versions_listed: Sequence[int] = (),
) -> None:
    """Queue one ``anchor.key_view`` row (written at the caller's commit).

    ``via`` says where the key was shown (``feedback``, ``anchor_page``, ``key_form``,
    ``challenge``);
    ``versions_listed`` every version whose levels the same page listed (the key history).
    """
    detail: dict[str, Any] = {"anchor_id": anchor_id, "version": version, "via": via}
    if round_id is not None:
        detail["round_id"] = round_id
    if sheet_id is not None:
        detail["sheet_id"] = sheet_id
    if versions_listed:
        detail["versions_listed"] = list(versions_listed)
    audit.record(
        session,
        actor,
        KEY_VIEW,
        object_type=OBJECT_TYPE,
        object_id=key_version_id,
        detail=detail,
    )


def record_first_feedback_view(
    session: Session,
    actor: Actor,
    *,
    anchor_id: int,
    key_version_id: int,
    version: int,
    round_id: int,
    sheet_id: int,
) -> bool:
    """Queue the row for an assessor's first sight of this key version; False if already seen."""
    if actor.user_id is None or has_seen(session, user_id=actor.user_id, key_version_id=key_version_id):
        return False
    record_key_view(
        session,
        actor,
        anchor_id=anchor_id,
        key_version_id=key_version_id,
        version=version,
        via="feedback",
        round_id=round_id,
        sheet_id=sheet_id,
    )
    return True
