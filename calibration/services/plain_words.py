"""Assessor-facing words for the pass rule's statistical phrases.

The statistics library names its checks as a statistician would ("Decision agreement at the earn
cut 85% (17 of 20) is below the 90% required"). Assessors read the same check here in words, with
the level that counts as earned named: "Same call as the key on whether a criterion is earned
(Proficient or above) 85% (17 of 20) is below the 90% required"; a "criterion-score" is a score.
Figures and thresholds are kept as they are; only the words change.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ..models import Level, Round, RubricVersion

__all__ = ["decision_title", "earn_labels", "plain_rule_message"]

_DECISION = "Decision agreement at the earn cut"
_NO_CUT = "Decision agreement not checked: the rubric has no earn cut"


def decision_title(earn_label: str | None) -> str:
    """The earned-or-not check in words, naming the lowest level that counts as earned."""
    if earn_label:
        return f"Same call as the key on whether a criterion is earned ({earn_label} or above)"
    return "Same call as the key on whether a criterion is earned"


def plain_rule_message(message: str, earn_label: str | None) -> str:
    """``message`` (a pass-rule check or decision) with the earn-cut phrases said in words."""
    message = message.replace(
        _NO_CUT, "Whether a criterion is earned was not checked: this rubric names no level as earned"
    )
    # "criterion-score" is the statistics' unit; to an assessor it is simply a score.
    return message.replace(_DECISION, decision_title(earn_label)).replace("criterion-score", "score")


def earn_labels(session: Session, round_ids: Iterable[int]) -> dict[int, str]:
    """round id -> the label of its rubric's earn cut level (the lowest level that counts as earned)."""
    ids = list(dict.fromkeys(round_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Round.id, Level.label)
        .join(RubricVersion, RubricVersion.id == Round.rubric_version_id)
        .join(
            Level,
            and_(Level.rubric_version_id == RubricVersion.id, Level.value == RubricVersion.earn_cut),
        )
        .where(Round.id.in_(ids))
    ).all()
    return {int(round_id): str(label) for round_id, label in rows}
