"""SQLAlchemy models. Import from here: ``from calibration.models import Round``."""

from .anchors import Anchor, AnchorKeyEntry, AnchorKeyVersion, AnchorPurpose, AnchorStatus
from .api import ApiIdempotencyKey, ApiRateWindow, ApiToken
from .attachments import AnchorAttachment
from .audit import AuditChainHead, AuditEvent
from .challenges import ChallengeStatus, KeyChallenge
from .credentials import IssuedCredential, IssuerKey
from .drafts import ScoreDraft
from .drift import (
    COHORT_RULES,
    BookingStatus,
    CalendarFeedToken,
    DriftFlag,
    EvidenceStream,
    FlagRule,
    FlagStatus,
    PoolSigmaEstimate,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationSession,
    RecalibrationWait,
    SessionBooking,
    SessionStatus,
    WaitStatus,
)
from .jobs import Job, JobStatus
from .onboarding import (
    AccountToken,
    QualificationOutcome,
    QualificationResult,
    SentNotice,
    TokenPurpose,
    TrainerDecision,
)
from .operational import ImportSource, ImportStatus, OperationalImport, OperationalRating
from .outbox import MailStatus, OutgoingMail
from .people import AuthSession, CertificationStatus, LoginAttempt, Membership, Program, Role, User
from .practice import PracticeAttempt
from .rounds import Assignment, Round, RoundAnchor, RoundKind, RoundStatus
from .rubrics import Criterion, Level, LevelDescriptor, RubricVersion
from .scoring import CriterionScore, ScoreCorrection, ScoreSheet, effective_level
from .validity import FINAL_VALIDITY, ValidityAssignment, ValidityStatus
from .webhooks import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "COHORT_RULES",
    "FINAL_VALIDITY",
    "AccountToken",
    "Anchor",
    "AnchorAttachment",
    "AnchorKeyEntry",
    "AnchorKeyVersion",
    "AnchorPurpose",
    "AnchorStatus",
    "ApiIdempotencyKey",
    "ApiRateWindow",
    "ApiToken",
    "Assignment",
    "AuditChainHead",
    "AuditEvent",
    "AuthSession",
    "BookingStatus",
    "CalendarFeedToken",
    "CertificationStatus",
    "ChallengeStatus",
    "Criterion",
    "CriterionScore",
    "DeliveryStatus",
    "DriftFlag",
    "EvidenceStream",
    "FlagRule",
    "FlagStatus",
    "ImportSource",
    "ImportStatus",
    "IssuedCredential",
    "IssuerKey",
    "Job",
    "JobStatus",
    "KeyChallenge",
    "Level",
    "LevelDescriptor",
    "LoginAttempt",
    "MailStatus",
    "Membership",
    "OperationalImport",
    "OperationalRating",
    "OutgoingMail",
    "PoolSigmaEstimate",
    "PracticeAttempt",
    "Program",
    "QualificationOutcome",
    "QualificationResult",
    "Recalibration",
    "RecalibrationOutcome",
    "RecalibrationSession",
    "RecalibrationWait",
    "Role",
    "Round",
    "RoundAnchor",
    "RoundKind",
    "RoundStatus",
    "RubricVersion",
    "ScoreCorrection",
    "ScoreDraft",
    "ScoreSheet",
    "SentNotice",
    "SessionBooking",
    "SessionStatus",
    "TokenPurpose",
    "TrainerDecision",
    "User",
    "ValidityAssignment",
    "ValidityStatus",
    "WaitStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "effective_level",
]
