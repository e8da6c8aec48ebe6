"""What a final score sheet sets in motion, in the sheet's own transaction.

One call for the view: the qualification verdict when it was the assessor's last sheet of a
qualification round (:mod:`.certification`), and the drift hook (:mod:`.recalibration`): a
recalibration verdict, or the drift rules when it completed a calibration round. Both are cheap
unless the sheet completes something.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import QualificationResult
from . import certification, recalibration
from .context import Actor


def after_final_sheet(
    session: Session, actor: Actor, *, round_id: int, defaults: certification.Policy
) -> QualificationResult | None:
    """Run the follow-ups of ``actor``'s new final sheet in ``round_id``; flush, never commit.

    Returns the qualification result when this sheet completed a qualification round, else None.
    """
    assert actor.user_id is not None and actor.program_id is not None
    policy = certification.program_policy(session, actor.program_id, defaults)
    common = {
        "program_id": actor.program_id,
        "user_id": actor.user_id,
        "round_id": round_id,
        "policy": policy,
        "request_id": actor.request_id,
    }
    result = certification.after_sheet(session, **common)  # type: ignore[arg-type]
    recalibration.after_final_sheet(session, **common)  # type: ignore[arg-type]
    return result
