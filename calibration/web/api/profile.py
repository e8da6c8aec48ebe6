"""``GET /assessors/{assessor_id}/profile``: what the trainer's assessor profile page shows,
computed by :func:`calibration.services.profiles.assessor_profile` (the same code and cache as the
page): certification, accuracy per round and per criterion with intervals, weak spots, and the
assessor's drift flags.

The profile compares the assessor with the key through statistics only: it holds no key level, no
rationale and no count of the key's levels (the page's level-use table is left out for that reason).
"""

from __future__ import annotations

from flask import Response

from ...db import get_session
from ...models import FlagStatus
from ...services import api_reads, profiles
from ...services.errors import NotFound
from .blueprint import bp, caller, json_response
from .schemas import (
    AssessorProfileOut,
    ProfileCriterionOut,
    ProfileFlagOut,
    ProfileRoundOut,
    ProfileRubricOut,
)
from .spec import link, operation, this
from .statistics import accuracy, decision_out, statistic


def _round(line: profiles.ProfileRound) -> ProfileRoundOut:
    return ProfileRoundOut(
        round_id=line.round_id,
        name=line.name,
        kind=str(line.kind),
        status=str(line.status),
        opens_at=line.opens_at,
        closes_at=line.closes_at,
        anchors=line.n_anchors,
        sheets_done=line.n_done,
        **accuracy(line.accuracy),
        decision=decision_out(line.decision),
    )


def _rubric(section: profiles.RubricSection, keys: dict[int, str]) -> ProfileRubricOut:
    overall = section.overall
    return ProfileRubricOut(
        rubric_version_id=section.rubric_version_id,
        title=section.title,
        version=section.version,
        min_exact=section.min_exact,
        n_scores=overall.n,
        exact=statistic(overall.exact),
        adjacent=statistic(overall.adjacent),
        discrepant=statistic(overall.discrepant),
        mean_signed_deviation=statistic(overall.mean_signed_deviation),
        weighted_kappa=statistic(overall.weighted_kappa),
        criteria=[
            ProfileCriterionOut(
                criterion=keys.get(c.criterion_id, str(c.criterion_id)),
                title=c.title,
                n_scores=c.accuracy.n,
                exact=statistic(c.accuracy.exact),
                adjacent=statistic(c.accuracy.adjacent),
                mean_signed_deviation=statistic(c.accuracy.mean_signed_deviation),
                too_few=c.too_few,
                findings=list(c.findings),
            )
            for c in section.criteria
        ],
    )


@bp.get("/assessors/<int:assessor_id>/profile")
@operation(
    "/assessors/{assessor_id}/profile",
    summary="Get an assessor's profile",
    response=AssessorProfileOut,
    tag="assessors",
    links=(link("GetAssessor", "get_assessor", assessor_id=this("assessor_id")),),
)
def get_assessor_profile(assessor_id: int) -> Response:
    """The assessor's profile as the trainer's profile page shows it: certification status and
    dates; accuracy against the key in every round (exact, adjacent, discrepant, mean signed
    deviation, weighted kappa, each with its interval, n and undefined reason, and the round's pass
    decision); accuracy per criterion over every round of each rubric version with its weak spots;
    and the assessor's drift flags, open ones first."""
    if not 0 < assessor_id <= api_reads.MAX_ID:
        raise NotFound("no such assessor")
    session = get_session()
    p = profiles.assessor_profile(session, program_id=caller().program_id, user_id=assessor_id)
    keys = api_reads.criterion_keys(session, {c.criterion_id for s in p.sections for c in s.criteria})
    return json_response(
        AssessorProfileOut(
            assessor_id=p.user_id,
            name=p.name,
            email=p.email,
            certification_status=None if p.status is None else str(p.status),
            certified_at=p.certified_at,
            certification_expires_at=p.expires_at,
            member_since=p.member_since,
            sheets=p.n_sheets,
            rounds=[_round(r) for r in p.rounds],
            rubrics=[_rubric(s, keys) for s in p.sections],
            flags=[
                ProfileFlagOut(
                    id=line.flag.id,
                    rule=str(line.flag.rule),
                    rule_name=line.rule_name,
                    status=str(line.flag.status),
                    criterion=line.criterion,
                    round_id=line.flag.round_id,
                    round_name=line.round_name,
                    summary=line.flag.summary,
                    created_at=line.flag.created_at,
                )
                for line in p.flags
            ],
            open_flags=sum(1 for line in p.flags if line.flag.status == FlagStatus.OPEN),
        )
    )
