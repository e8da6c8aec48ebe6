"""The read resources: rubrics and their versions, rounds, assessors with certification status,
anchors (master key only for the ``trainer`` scope), flags and recalibration sessions.

Each view reads inside the token's program only; an id of another program is 404 (audited).
"""

from __future__ import annotations

from typing import Any

from flask import Response, g
from sqlalchemy.orm import Session

from ...db import get_session
from ...models import Anchor, DriftFlag, RecalibrationSession, Round, RubricVersion
from ...services import api_reads, key_views
from ...services.context import SystemActor
from ..boundary import commit_after_read
from .blueprint import bp, caller, decode_cursor, json_page, json_response, query
from .schemas import (
    AnchorKeyOut,
    AnchorOut,
    AssessorOut,
    CriterionOut,
    DescriptorOut,
    FlagOut,
    KeyEntryOut,
    LevelOut,
    Page,
    PageQuery,
    RoundOut,
    RubricQuery,
    RubricVersionOut,
    SessionOut,
)
from .spec import first_item, link, operation, this


# ----------------------------------------------------------------------------------- rubrics
def _rubric(rv: RubricVersion) -> RubricVersionOut:
    value_of = {lv.id: lv.value for lv in rv.levels}
    return RubricVersionOut(
        id=rv.id,
        slug=rv.slug,
        version=rv.version,
        title=rv.title,
        description=rv.description,
        level_of_measurement=rv.level_of_measurement,
        earn_cut=rv.earn_cut,
        content_hash=rv.content_hash,
        created_at=rv.created_at,
        levels=[LevelOut(value=lv.value, label=lv.label) for lv in rv.levels],
        criteria=[
            CriterionOut(
                key=c.key,
                title=c.title,
                description=c.description,
                descriptors=[DescriptorOut(level=value_of[d.level_id], text=d.text) for d in c.descriptors],
            )
            for c in rv.criteria
        ],
    )


@bp.get("/rubrics")
@operation(
    "/rubrics",
    summary="List rubric versions",
    response=Page[RubricVersionOut],
    query=RubricQuery,
    tag="rubrics",
    links=(link("GetRubric", "get_rubric", rubric_version_id=first_item()),),
)
def list_rubrics() -> Response:
    """Every stored version of the program's rubrics (optionally of one rubric, by `slug`), oldest first."""
    q = query(RubricQuery)
    rows, more = api_reads.rubric_versions(
        get_session(),
        caller().program_id,
        after=decode_cursor(q.cursor, "rubrics"),
        limit=q.limit,
        slug=q.slug,
    )
    return json_page("rubrics", rows, more, _rubric)


@bp.get("/rubrics/<int:rubric_version_id>")
@operation(
    "/rubrics/{rubric_version_id}", summary="Get a rubric version", response=RubricVersionOut, tag="rubrics"
)
def get_rubric(rubric_version_id: int) -> Response:
    """One rubric version with its levels, criteria and level descriptors."""
    return json_response(
        _rubric(api_reads.rubric_version(get_session(), caller().program_id, rubric_version_id))
    )


# ------------------------------------------------------------------------------------ rounds
def _round(rnd: Round) -> RoundOut:
    anchors, assessors = api_reads.round_counts(get_session(), rnd.id)
    return RoundOut(
        id=rnd.id,
        name=rnd.name,
        kind=str(rnd.kind),
        status=str(rnd.status),
        rubric_version_id=rnd.rubric_version_id,
        opens_at=rnd.opens_at,
        closes_at=rnd.closes_at,
        created_at=rnd.created_at,
        anchor_count=anchors,
        assessor_count=assessors,
    )


@bp.get("/rounds")
@operation(
    "/rounds",
    summary="List rounds",
    response=Page[RoundOut],
    query=PageQuery,
    tag="rounds",
    links=(
        link("GetRound", "get_round", round_id=first_item()),
        link("GetRoundReport", "get_round_report", round_id=first_item()),
        link("ListRoundSheets", "list_round_sheets", round_id=first_item()),
    ),
)
def list_rounds() -> Response:
    """The program's rounds (calibration, practice, qualification, recalibration), oldest first."""
    q = query(PageQuery)
    rows, more = api_reads.rounds(
        get_session(), caller().program_id, after=decode_cursor(q.cursor, "rounds"), limit=q.limit
    )
    return json_page("rounds", rows, more, _round)


@bp.get("/rounds/<int:round_id>")
@operation(
    "/rounds/{round_id}",
    summary="Get a round",
    response=RoundOut,
    tag="rounds",
    links=(
        link("GetRoundReport", "get_round_report", round_id=this()),
        link("ListRoundSheets", "list_round_sheets", round_id=this()),
        link("GetRubric", "get_rubric", rubric_version_id=this("rubric_version_id")),
    ),
)
def get_round(round_id: int) -> Response:
    """One round with its counts of anchors and assigned assessors."""
    return json_response(_round(api_reads.round_(get_session(), caller().program_id, round_id)))


# --------------------------------------------------------------------------------- assessors
def _assessor(pair: Any) -> AssessorOut:
    user, membership = pair
    return AssessorOut(
        id=user.id,
        name=user.name,
        email=user.email,
        active=user.is_active,
        certification_status=None
        if membership.certification_status is None
        else str(membership.certification_status),
        certified_at=membership.certified_at,
        certification_expires_at=membership.certification_expires_at,
    )


@bp.get("/assessors")
@operation(
    "/assessors",
    summary="List assessors",
    response=Page[AssessorOut],
    query=PageQuery,
    tag="assessors",
    links=(
        link("GetAssessor", "get_assessor", assessor_id=first_item()),
        link("GetAssessorProfile", "get_assessor_profile", assessor_id=first_item()),
    ),
)
def list_assessors() -> Response:
    """The program's assessors with their certification status and dates."""
    q = query(PageQuery)
    rows, more = api_reads.assessors(
        get_session(), caller().program_id, after=decode_cursor(q.cursor, "assessors"), limit=q.limit
    )
    return json_page("assessors", rows, more, _assessor, lambda r: r[0].id)


@bp.get("/assessors/<int:assessor_id>")
@operation(
    "/assessors/{assessor_id}",
    summary="Get an assessor",
    response=AssessorOut,
    tag="assessors",
    links=(link("GetAssessorProfile", "get_assessor_profile", assessor_id=this()),),
)
def get_assessor(assessor_id: int) -> Response:
    """One assessor with their certification status and dates."""
    return json_response(_assessor(api_reads.assessor(get_session(), caller().program_id, assessor_id)))


# ----------------------------------------------------------------------------------- anchors
def _anchor(anchor: Anchor, shown: list[tuple[int, int, int]]) -> AnchorOut:
    """An anchor's payload; each key included is added to ``shown`` (anchor, key version id, version)."""
    key = None
    if caller().sees_keys:  # blindness: only the trainer scope ever sees a key or a rationale
        version = api_reads.current_key(get_session(), anchor.id)
        if version is not None:
            shown.append((anchor.id, version.id, version.version))
            criteria = api_reads.criterion_keys(get_session(), {e.criterion_id for e in version.entries})
            key = AnchorKeyOut(
                version=version.version,
                created_at=version.created_at,
                entries=[
                    KeyEntryOut(
                        criterion=criteria[e.criterion_id], level=e.level_value, rationale=e.rationale
                    )
                    for e in version.entries
                ],
            )
    return AnchorOut(
        id=anchor.id,
        title=anchor.title,
        purpose=str(anchor.purpose),
        status=str(anchor.status),
        rubric_version_id=anchor.rubric_version_id,
        created_at=anchor.created_at,
        key=key,
    )


@bp.get("/anchors")
@operation(
    "/anchors",
    summary="List anchors",
    response=Page[AnchorOut],
    query=PageQuery,
    tag="anchors",
    links=(link("GetAnchor", "get_anchor", anchor_id=first_item()),),
)
def list_anchors() -> Response:
    """The program's anchors (metadata). The master key and its rationales are included only for a
    token with the `trainer` scope."""
    q = query(PageQuery)
    rows, more = api_reads.anchors(
        get_session(), caller().program_id, after=decode_cursor(q.cursor, "anchors"), limit=q.limit
    )
    shown: list[tuple[int, int, int]] = []
    response = json_page("anchors", rows, more, lambda a: _anchor(a, shown))
    _record_key_views(shown)
    return response


@bp.get("/anchors/<int:anchor_id>")
@operation(
    "/anchors/{anchor_id}",
    summary="Get an anchor",
    response=AnchorOut,
    tag="anchors",
    links=(link("GetRubric", "get_rubric", rubric_version_id=this("rubric_version_id")),),
)
def get_anchor(anchor_id: int) -> Response:
    """One anchor's metadata; the master key and its rationales only with the `trainer` scope."""
    shown: list[tuple[int, int, int]] = []
    response = json_response(_anchor(api_reads.anchor(get_session(), caller().program_id, anchor_id), shown))
    _record_key_views(shown)
    return response


def _record_key_views(shown: list[tuple[int, int, int]]) -> None:
    """Seeing a key is on the trail (as on the trainer's anchor page): one ``anchor.key_view`` row
    per key sent, naming the token."""
    if not shown:
        return
    me = caller()
    actor = SystemActor(me.program_id, g.get("request_id"))

    def write(session: Session) -> None:
        for anchor_id, key_version_id, version in shown:
            key_views.record_key_view(
                session,
                actor,
                anchor_id=anchor_id,
                key_version_id=key_version_id,
                version=version,
                via=f"api token {me.token_id}",
            )

    commit_after_read(write)


# ------------------------------------------------------------------------------------- flags
def _flag(flag: DriftFlag) -> FlagOut:
    return FlagOut(
        id=flag.id,
        rule=str(flag.rule),
        status=str(flag.status),
        assessor_id=flag.user_id,
        criterion_id=flag.criterion_id,
        round_id=flag.round_id,
        direction=flag.direction,
        statistic=flag.statistic,
        value=flag.value,
        threshold=flag.threshold,
        summary=flag.summary,
        created_at=flag.created_at,
        reviewed_at=flag.reviewed_at,
    )


@bp.get("/flags")
@operation(
    "/flags",
    summary="List drift flags",
    response=Page[FlagOut],
    query=PageQuery,
    tag="flags",
    links=(link("GetFlag", "get_flag", flag_id=first_item()),),
)
def list_flags() -> Response:
    """The program's drift flags, oldest first, with their status (open, confirmed, dismissed)."""
    q = query(PageQuery)
    rows, more = api_reads.flags(
        get_session(), caller().program_id, after=decode_cursor(q.cursor, "flags"), limit=q.limit
    )
    return json_page("flags", rows, more, _flag)


@bp.get("/flags/<int:flag_id>")
@operation("/flags/{flag_id}", summary="Get a drift flag", response=FlagOut, tag="flags")
def get_flag(flag_id: int) -> Response:
    """One drift flag with its rule, statistic, value, threshold and status (open, confirmed, dismissed)."""
    return json_response(_flag(api_reads.flag(get_session(), caller().program_id, flag_id)))


# ---------------------------------------------------------------------------------- sessions
def _session(row: RecalibrationSession) -> SessionOut:
    return SessionOut(
        id=row.id,
        title=row.title,
        starts_at=row.starts_at,
        duration_minutes=row.duration_minutes,
        timezone=row.timezone,
        location=row.location,
        capacity=row.capacity,
        status=str(row.status),
        trainer_id=row.trainer_id,
    )


@bp.get("/sessions")
@operation(
    "/sessions",
    summary="List recalibration sessions",
    response=Page[SessionOut],
    query=PageQuery,
    tag="sessions",
)
def list_sessions() -> Response:
    """The program's recalibration sessions (starting time in UTC; `timezone` is how it was entered)."""
    q = query(PageQuery)
    rows, more = api_reads.sessions(
        get_session(), caller().program_id, after=decode_cursor(q.cursor, "sessions"), limit=q.limit
    )
    return json_page("sessions", rows, more, _session)
