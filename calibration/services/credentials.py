"""Assessor certification as an Open Badges 3.0 ``OpenBadgeCredential``.

Issued when an assessor becomes certified (the qualification or recalibration round they passed,
a trainer's approval, a reinstatement), re-issued at each renewal with the first ``awardedDate``
kept. It expires with the certification (``validUntil``), names the assessor only by a salted
SHA-256 of their email address (an ``IdentityObject``), and summarises the qualifying result as
evidence: rounds, anchors and agreement figures with their 95% intervals, never anchor content or
the key. It is signed with the program's key (:mod:`.credential_keys`, ``eddsa-rdfc-2022``).

Its ``credentialStatus`` points at a bit in the program's ``BitstringStatusListCredential``; the list
is built from the database and signed each time it is asked for, so suspension, lapse or revocation
(:func:`revoke_active`, called where the certification changes) flips the bit at once. A revoked
credential is never un-revoked: reinstatement issues a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    CertificationStatus,
    IssuedCredential,
    Membership,
    Program,
    QualificationOutcome,
    QualificationResult,
    Recalibration,
    RecalibrationOutcome,
    Round,
    RoundAnchor,
    RubricVersion,
    ScoreSheet,
    User,
    effective_level,
)
from ..stats.accuracy import accuracy
from ..stats.passrule import PassRule
from ..stats.results import Estimate, Proportion
from . import audit
from . import credential_keys as keys
from . import dataintegrity as di
from .context import Actor, Member, SystemActor
from .errors import InvalidInput, NotFound
from .events import CertificationGranted
from .rules import pass_rule_from_json
from .score_rows import int_columns, keyed_scores

IssuerSettings = keys.IssuerSettings
ACHIEVEMENT_TYPE = "Certification"
REASON_MAX = 300


def timestamp(value: dt.datetime) -> str:
    """An XML Schema dateTime in UTC, to the second (``2026-12-06T21:30:00Z``)."""
    return value.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_hash(email: str, salt: str) -> str:
    """Open Badges' hashed identity: ``sha256$`` + hex SHA-256 of the address followed by the salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


# ------------------------------------------------------------------------------------ evidence
def _percent(p: Proportion) -> str:
    if p.p is None:
        return "undefined"
    low, high = p.ci_low, p.ci_high
    interval = f" (95% interval {low:.0%} to {high:.0%})" if low is not None and high is not None else ""
    return f"{p.p:.0%}{interval}"


def _estimate(e: Estimate, digits: int = 2) -> str:
    if e.value is None:
        return f"undefined ({e.reason})" if e.reason else "undefined"
    interval = (
        f" (95% interval {e.ci_low:+.{digits}f} to {e.ci_high:+.{digits}f})"
        if e.ci_low is not None and e.ci_high is not None
        else ""
    )
    return f"{e.value:+.{digits}f}{interval}"


def _round_summary(session: Session, rnd: Round, user_id: int) -> dict[str, Any]:
    rubric = session.get(RubricVersion, rnd.rubric_version_id)
    assert rubric is not None
    stmt, _ = keyed_scores([rnd.id], "sheet", [effective_level()])
    rows = int_columns(session, stmt.where(ScoreSheet.assessor_id == user_id), 3)  # level, key, key version
    result = accuracy(rows[:, 0], rows[:, 1], levels=rubric.level_values, earn_cut=rubric.earn_cut)
    n_anchors = len(
        list(session.scalars(select(RoundAnchor.anchor_id).where(RoundAnchor.round_id == rnd.id)))
    )
    figures = [
        f"exact agreement with the master key {_percent(result.exact)}",
        f"exact or adjacent {_percent(result.adjacent)}",
        f"{result.discrepant.count} of {result.n} criterion-scores two or more levels off",
        f"mean signed deviation {_estimate(result.mean_signed_deviation)} levels",
    ]
    if result.decision is not None:
        figures.append(f"decision agreement at the earn cut {_percent(result.decision.agreement)}")
    kind = rnd.kind.value.replace("_", " ")
    return {
        "type": ["Evidence"],
        # Not the round's name: trainers name rounds freely (often after the person).
        "name": f"Passed a {kind} round, {rnd.opens_at:%B %Y}",
        "description": (
            f"{n_anchors} anchor submissions scored blind against the master key on the rubric "
            f"{rubric.title} (version {rubric.version}), {result.n} criterion-scores."
        ),
        "narrative": "; ".join(figures) + ".",
        "genre": f"{kind} round result",
    }


def qualifying_round(session: Session, program_id: int, user_id: int) -> Round | None:
    """The most recent round the assessor passed (qualification or recalibration)."""
    found: list[tuple[dt.datetime, int]] = []
    for decided, round_id in session.execute(
        select(QualificationResult.decided_at, QualificationResult.round_id).where(
            QualificationResult.program_id == program_id,
            QualificationResult.user_id == user_id,
            QualificationResult.outcome == QualificationOutcome.PASS,
        )
    ):
        found.append((decided, round_id))
    for recal_decided, recal_round in session.execute(
        select(Recalibration.decided_at, Recalibration.round_id).where(
            Recalibration.program_id == program_id,
            Recalibration.user_id == user_id,
            Recalibration.outcome == RecalibrationOutcome.PASSED,
        )
    ):
        if recal_decided is not None:
            found.append((recal_decided, recal_round))
    if not found:
        return None
    return session.get(Round, max(found)[1])


def criteria_narrative(rule: PassRule, certification_days: int) -> str:
    """The program's qualification rule, in words."""
    return (
        "Certified by scoring anchor submissions blind, in a qualification round, against a master key "
        f"agreed by the lead trainers: at least {rule.min_anchors} anchors ({rule.min_scores} criterion-scores), "
        f"exact agreement with the key of at least {rule.min_exact:.0%}, exact-or-adjacent agreement of at "
        f"least {rule.min_adjacent:.0%}, no more than {rule.max_discrepant} criterion-score(s) two or more "
        f"levels off, and agreement on the earned / not-yet decision at the rubric's earn cut of at least "
        f"{rule.min_decision:.0%}. The certification lasts {certification_days} days and is renewed by "
        "passing a recalibration round of anchors the assessor has not seen."
    )


# ------------------------------------------------------------------------------------- issuing
def _status_index(session: Session, program_id: int) -> int:
    """A free place in the program's status list, chosen at random (the list reveals no order)."""
    used = set(
        session.scalars(
            select(IssuedCredential.status_index).where(IssuedCredential.program_id == program_id)
        )
    )
    if len(used) >= di.STATUS_LIST_BITS:
        raise InvalidInput("The program's status list is full; no credential can be issued.")
    while True:
        index = secrets.randbelow(di.STATUS_LIST_BITS)
        if index not in used:
            return index


def latest(session: Session, program_id: int, user_id: int) -> IssuedCredential | None:
    """The assessor's most recent credential in the program (None if there is none yet)."""
    return session.scalar(
        select(IssuedCredential)
        .where(IssuedCredential.program_id == program_id, IssuedCredential.user_id == user_id)
        .order_by(IssuedCredential.id.desc())
        .limit(1)
    )


def issue(
    session: Session,
    actor: Actor,
    settings: IssuerSettings,
    *,
    program_id: int,
    user_id: int,
    now: dt.datetime | None = None,
) -> IssuedCredential:
    """Issue (sign, store, audit) a credential for a certified assessor; ``validUntil`` is their expiry."""
    now = now or utcnow()
    membership = session.scalar(
        select(Membership).where(Membership.program_id == program_id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("assessor")
    expires = membership.certification_expires_at
    if membership.certification_status != CertificationStatus.CERTIFIED or expires is None or expires <= now:
        raise InvalidInput("Only a certified assessor whose certification has not expired gets a credential.")
    program = session.get(Program, program_id)
    user = session.get(User, user_id)
    assert program is not None and user is not None
    key = keys.ensure_key(session, actor, settings, program_id, now=now)
    earlier = session.scalar(
        select(IssuedCredential)
        .where(IssuedCredential.program_id == program_id, IssuedCredential.user_id == user_id)
        .order_by(IssuedCredential.id)
        .limit(1)
    )
    awarded = earlier.awarded_at if earlier is not None else (membership.certified_at or now)
    rnd = qualifying_round(session, program_id, user_id)
    row = IssuedCredential(
        public_id=secrets.token_urlsafe(18),
        program_id=program_id,
        user_id=user_id,
        key_id=key.id,
        status_index=_status_index(session, program_id),
        round_id=rnd.id if rnd is not None else None,
        issued_at=now,
        awarded_at=awarded,
        valid_until=expires,
        document="{}",
    )
    days = max(1, round((expires - (membership.certified_at or now)).total_seconds() / 86400))
    unsigned = _document(session, settings, program, user, row, rnd, days)
    signed = di.sign(
        unsigned,
        keys.private_key(settings.secret, key),
        verification_method=settings.verification_method(program.slug, key),
        created=timestamp(now),
    )
    row.document = json.dumps(signed, ensure_ascii=False)
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "credential.issue", object_type="user", object_id=user_id, program_id=program_id,
        detail={"credential_id": row.id, "status_index": row.status_index, "valid_until": timestamp(expires),
                "awarded": timestamp(awarded), "round_id": row.round_id, "key_id": key.id},
    )  # fmt: skip
    return row


def _document(
    session: Session,
    settings: IssuerSettings,
    program: Program,
    user: User,
    row: IssuedCredential,
    rnd: Round | None,
    days: int,
) -> dict[str, Any]:
    rule = pass_rule_from_json(rnd.pass_rule_json) if rnd is not None else PassRule()
    rubrics = _rubrics_covered(session, program.id, row.user_id, rnd)
    salt = secrets.token_hex(16)
    achievement: dict[str, Any] = {
        "id": settings.achievement_id(program.slug),
        "type": ["Achievement"],
        "achievementType": ACHIEVEMENT_TYPE,
        "name": f"Certified assessor: {program.name}",
        "description": (
            f"Holds a current certification as an assessor of {program.name}'s micro-credentials: scores "
            "educators' evidence submissions against the program's rubrics in agreement with its master key."
        ),
        "criteria": {"narrative": criteria_narrative(rule, days)},
    }
    if rubrics:
        achievement["alignment"] = [
            {
                "type": ["Alignment"],
                "targetType": "CFRubric",
                "targetName": f"{r.title} (version {r.version})",
                "targetCode": f"{r.slug}@{r.version}",
                "targetUrl": f"{settings.achievement_id(program.slug)}#rubric-{r.slug}-v{r.version}",
            }
            for r in rubrics
        ]
    status_list = settings.status_list_id(program.slug)
    document: dict[str, Any] = {
        "@context": [di.VC_V2, di.OB_V3],
        "id": settings.credential_id(row.public_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": keys.issuer_summary(settings, program),
        "validFrom": timestamp(row.issued_at),
        "validUntil": timestamp(row.valid_until),
        "awardedDate": timestamp(row.awarded_at),
        "name": f"Certified assessor: {program.name}",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": identity_hash(user.email, salt),
                    "salt": salt,
                }
            ],
            "achievement": achievement,
        },
        "credentialStatus": {
            "id": f"{status_list}#{row.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(row.status_index),
            "statusListCredential": status_list,
        },
    }
    if rnd is not None:
        document["evidence"] = [_round_summary(session, rnd, row.user_id)]
    return document


def _rubrics_covered(
    session: Session, program_id: int, user_id: int, rnd: Round | None
) -> list[RubricVersion]:
    """The rubric versions of the rounds the assessor passed (the qualifying one first)."""
    ids: list[int] = []
    if rnd is not None:
        ids.append(rnd.rubric_version_id)
    passed = select(QualificationResult.round_id).where(
        QualificationResult.program_id == program_id,
        QualificationResult.user_id == user_id,
        QualificationResult.outcome == QualificationOutcome.PASS,
    )
    recal = select(Recalibration.round_id).where(
        Recalibration.program_id == program_id,
        Recalibration.user_id == user_id,
        Recalibration.outcome == RecalibrationOutcome.PASSED,
    )
    for rubric_id in session.scalars(
        select(Round.rubric_version_id)
        .where(Round.id.in_(passed.union(recal).scalar_subquery()))
        .order_by(Round.id)
    ):
        if rubric_id not in ids:
            ids.append(rubric_id)
    return [r for r in (session.get(RubricVersion, i) for i in ids) if r is not None]


# ---------------------------------------------------------------------------------- revoking
def revoke_active(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    user_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> list[IssuedCredential]:
    """Revoke every credential of the assessor not revoked yet (audited); the status bit flips at once."""
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(IssuedCredential).where(
                IssuedCredential.program_id == program_id,
                IssuedCredential.user_id == user_id,
                IssuedCredential.revoked_at.is_(None),
            )
        )
    )
    for row in rows:
        row.revoked_at = now
        row.revoked_reason = reason[:REASON_MAX]
    if rows:
        session.flush()
        audit.record(
            session, actor, "credential.revoke", object_type="user", object_id=user_id, program_id=program_id,
            detail={"credential_ids": [r.id for r in rows], "reason": reason[:REASON_MAX]},
        )  # fmt: skip
    return rows


# ------------------------------------------------------------------------------- status list
def status_list(
    session: Session,
    actor: Actor,
    settings: IssuerSettings,
    program: Program,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The program's signed ``BitstringStatusListCredential`` as it stands now."""
    now = now or utcnow()
    revoked = set(
        session.scalars(
            select(IssuedCredential.status_index).where(
                IssuedCredential.program_id == program.id, IssuedCredential.revoked_at.is_not(None)
            )
        )
    )
    list_id = settings.status_list_id(program.slug)
    document = {
        "@context": [di.VC_V2],
        "id": list_id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": settings.issuer_id(program.slug),
        "validFrom": timestamp(now),
        "credentialSubject": {
            "id": f"{list_id}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": di.encode_status_list(revoked),
        },
    }
    key = keys.current_key(session, program.id)
    if key is None:
        raise NotFound("status list")  # no key yet: nothing was ever issued
    return di.sign(
        document,
        keys.private_key(settings.secret, key),
        verification_method=settings.verification_method(program.slug, key),
        created=timestamp(now),
    )


# ----------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Found:
    """A credential, its program and its state now."""

    row: IssuedCredential
    program: Program
    document: dict[str, Any]

    def state(self, now: dt.datetime) -> str:
        if self.row.revoked_at is not None:
            return "revoked"
        if self.row.valid_until <= now:
            return "expired"
        return "valid"


def find_public(session: Session, public_id: str) -> Found:
    """The credential with this public id (:class:`NotFound` otherwise)."""
    if not public_id or len(public_id) > 40:
        raise NotFound("credential")
    row = session.scalar(select(IssuedCredential).where(IssuedCredential.public_id == public_id))
    if row is None:
        raise NotFound("credential")
    program = session.get(Program, row.program_id)
    assert program is not None
    return Found(row, program, json.loads(row.document))


def program_by_slug(session: Session, slug: str) -> Program:
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        raise NotFound("issuer")
    return program


def issue_granted(
    session: Session,
    settings: IssuerSettings,
    granted: Iterable[CertificationGranted],
    *,
    now: dt.datetime | None = None,
) -> list[IssuedCredential]:
    """Issue the credentials that certifications granted in this transaction call for (once per
    assessor; none for one whose status changed again before the end of the transaction)."""
    now = now or utcnow()
    issued = []
    for program_id, user_id in dict.fromkeys((g.program_id, g.user_id) for g in granted):
        membership = session.scalar(
            select(Membership).where(Membership.program_id == program_id, Membership.user_id == user_id)
        )
        if (
            membership is None
            or membership.certification_status != CertificationStatus.CERTIFIED
            or membership.certification_expires_at is None
            or membership.certification_expires_at <= now
        ):
            continue
        system = SystemActor(program_id)
        try:
            with session.begin_nested():  # a key that cannot sign must not undo the certification
                issued.append(
                    issue(session, system, settings, program_id=program_id, user_id=user_id, now=now)
                )
        except keys.CredentialKeyError as exc:
            audit.record(
                session, system, "credential.issue", object_type="user", object_id=user_id,
                program_id=program_id, outcome="failed", detail={"reason": str(exc)},
            )  # fmt: skip
    return issued


@dataclass(frozen=True)
class Described:
    """What a credential asserts, in plain values for a page (read from the signed document)."""

    name: str
    issuer_name: str
    issuer_id: str
    achievement: str
    achievement_type: str
    description: str
    criteria: str
    rubrics: tuple[str, ...]
    evidence: tuple[tuple[str, str, str], ...]  # name, description, figures
    awarded: str
    valid_from: str
    valid_until: str
    credential_id: str


def day_text(value: Any) -> str:
    try:
        return f"{dt.datetime.fromisoformat(str(value).replace('Z', '+00:00')):%-d %B %Y}"
    except ValueError:
        return str(value)


def describe(document: dict[str, Any]) -> Described:
    """The claims of a credential of ours, for its public page."""
    subject = document.get("credentialSubject", {})
    achievement = subject.get("achievement", {})
    issuer = document.get("issuer", {})
    return Described(
        name=str(document.get("name", "")),
        issuer_name=str(issuer.get("name", "")),
        issuer_id=str(issuer.get("id", "")),
        achievement=str(achievement.get("name", "")),
        achievement_type=str(achievement.get("achievementType", "")),
        description=str(achievement.get("description", "")),
        criteria=str(achievement.get("criteria", {}).get("narrative", "")),
        rubrics=tuple(str(a.get("targetName", "")) for a in achievement.get("alignment", [])),
        evidence=tuple(
            (str(e.get("name", "")), str(e.get("description", "")), str(e.get("narrative", "")))
            for e in document.get("evidence", [])
        ),
        awarded=day_text(document.get("awardedDate", "")),
        valid_from=day_text(document.get("validFrom", "")),
        valid_until=day_text(document.get("validUntil", "")),
        credential_id=str(document.get("id", "")),
    )


def current_for(
    session: Session, program_id: int, user_id: int, *, now: dt.datetime
) -> IssuedCredential | None:
    """The assessor's credential that is valid now (not revoked, not expired), the newest first."""
    return session.scalar(
        select(IssuedCredential)
        .where(
            IssuedCredential.program_id == program_id,
            IssuedCredential.user_id == user_id,
            IssuedCredential.revoked_at.is_(None),
            IssuedCredential.valid_until > now,
        )
        .order_by(IssuedCredential.id.desc())
        .limit(1)
    )


def get_credential(
    session: Session, actor: Member, settings: IssuerSettings, *, now: dt.datetime | None = None
) -> IssuedCredential:
    """The signed-in assessor's valid credential, issued now if they are certified and have none
    (certified before credentials existed, or a credential that could not be issued then)."""
    now = now or utcnow()
    found = current_for(session, actor.program_id, actor.user_id, now=now)
    if found is not None:
        return found
    return issue(session, actor, settings, program_id=actor.program_id, user_id=actor.user_id, now=now)
