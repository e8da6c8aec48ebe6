"""SQLAlchemy models. Import from here: ``from calibration.models import Round``."""

from .anchors import Anchor, AnchorKeyEntry, AnchorKeyVersion, AnchorPurpose, AnchorStatus
from .attachments import AnchorAttachment
from .audit import AuditEvent
from .people import AuthSession, CertificationStatus, LoginAttempt, Membership, Program, Role, User
from .rounds import Assignment, Round, RoundAnchor, RoundKind, RoundStatus
from .rubrics import Criterion, Level, LevelDescriptor, RubricVersion
from .scoring import CriterionScore, ScoreSheet

__all__ = [
    "Anchor",
    "AnchorAttachment",
    "AnchorKeyEntry",
    "AnchorKeyVersion",
    "AnchorPurpose",
    "AnchorStatus",
    "Assignment",
    "AuditEvent",
    "AuthSession",
    "CertificationStatus",
    "Criterion",
    "CriterionScore",
    "Level",
    "LevelDescriptor",
    "LoginAttempt",
    "Membership",
    "Program",
    "Role",
    "Round",
    "RoundAnchor",
    "RoundKind",
    "RoundStatus",
    "RubricVersion",
    "ScoreSheet",
    "User",
]
