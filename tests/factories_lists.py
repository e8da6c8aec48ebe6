"""Bulk rows for the trainer's lists (issue 17): a program of ``n`` assessors with rounds, anchors,
flags, key challenges, recalibration sessions, bookings and waits in proportion, inserted with
Core so that 300 assessors take a moment, not minutes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from calibration.db import utcnow
from calibration.models import (
    Anchor,
    AnchorKeyVersion,
    AnchorPurpose,
    AnchorStatus,
    Assignment,
    BookingStatus,
    CertificationStatus,
    ChallengeStatus,
    DriftFlag,
    FlagRule,
    FlagStatus,
    KeyChallenge,
    Program,
    Recalibration,
    RecalibrationOutcome,
    RecalibrationSession,
    RecalibrationWait,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    ScoreSheet,
    SessionBooking,
    SessionStatus,
    WaitStatus,
)
from calibration.services.rules import pass_rule_json

from .factories import World
from .factories_reports import add_assessors, insert_sheets, noisy_scores


@dataclass(frozen=True)
class Filled:
    assessors: list[int]
    rounds: list[int]
    flags: list[int]
    challenges: list[int]
    sessions: list[int]


def fill_program(session: Session, world: World, n: int, *, tag: str = "Bulk") -> Filled:
    """``n`` assessors (a fifth in training) in program A, and in proportion: ``n // 2`` rounds of
    every kind (each with a tenth of the assessors), ``n // 3`` anchors, a flag per assessor (a
    cohort-level flag per ten), a key challenge per assessor, ``n // 5`` sessions with a booking
    each, and a recalibration waiting for anchors (or for a session) per ten assessors. Commits."""
    now = utcnow()
    certified = add_assessors(session, world.program_a, n - n // 5, prefix=f"{tag} certified")
    training = add_assessors(
        session, world.program_a, n // 5, prefix=f"{tag} training", status=CertificationStatus.IN_TRAINING
    )
    people = certified + training
    program = session.get(Program, world.program_a)
    assert program is not None
    rule = pass_rule_json(program.settings_json)
    kinds = list(RoundKind)
    statuses = list(RoundStatus)
    rounds = [
        row[0]
        for row in session.execute(
            insert(Round).returning(Round.id, sort_by_parameter_order=True),
            [
                {
                    "program_id": world.program_a,
                    "rubric_version_id": world.rubric_id,
                    "name": f"{tag} round {i:03d}",
                    "kind": kinds[i % len(kinds)],
                    "status": statuses[i % len(statuses)],
                    "opens_at": now - dt.timedelta(days=i),
                    "closes_at": now - dt.timedelta(days=i) + dt.timedelta(days=14),
                    "pass_rule_json": rule,
                }
                for i in range(n // 2)
            ],
        )
    ]
    session.execute(
        insert(RoundAnchor),
        [{"round_id": r, "anchor_id": a, "position": j} for r in rounds for j, a in enumerate(world.anchors)],
    )
    session.execute(
        insert(Assignment),
        [
            {"round_id": r, "user_id": people[(i * 7 + k) % n]}
            for i, r in enumerate(rounds)
            for k in range(n // 10)
        ],
    )
    session.execute(
        insert(Anchor),
        [
            {
                "program_id": world.program_a,
                "rubric_version_id": world.rubric_id,
                "title": f"{tag} anchor {i:03d}",
                "evidence_md": "Evidence.",
                "purpose": list(AnchorPurpose)[i % 3],
                "status": list(AnchorStatus)[i % 3],
                "created_at": now - dt.timedelta(days=i),
            }
            for i in range(n // 3)
        ],
    )
    flags = [
        row[0]
        for row in session.execute(
            insert(DriftFlag).returning(DriftFlag.id, sort_by_parameter_order=True),
            [
                {
                    "program_id": world.program_a,
                    "user_id": None if i % 10 == 0 else people[i],
                    "round_id": rounds[i % len(rounds)],
                    "rule": FlagRule.COHORT_LEVEL if i % 10 == 0 else FlagRule.OWN_DRIFT,
                    "status": FlagStatus.OPEN if i % 2 else FlagStatus.DISMISSED,
                    "statistic": "cusum",
                    "summary": f"{tag} finding {i}",
                    "evidence_hash": f"{tag}-{n}-{i}",
                    "created_at": now - dt.timedelta(hours=i),
                }
                for i in range(n)
            ],
        )
    ]
    first = {k: v for k, v in noisy_scores(world, people, seed=n).items() if k[0] == world.anchors[0]}
    insert_sheets(session, world.round_id, first)
    sheets = session.execute(
        select(ScoreSheet.id, ScoreSheet.assessor_id).where(
            ScoreSheet.round_id == world.round_id, ScoreSheet.assessor_id.in_(people)
        )
    ).all()
    key = session.scalar(select(AnchorKeyVersion.id).where(AnchorKeyVersion.anchor_id == world.anchors[0]))
    challenges = [
        row[0]
        for row in session.execute(
            insert(KeyChallenge).returning(KeyChallenge.id, sort_by_parameter_order=True),
            [
                {
                    "program_id": world.program_a,
                    "anchor_id": world.anchors[0],
                    "key_version_id": key,
                    "criterion_id": world.criteria[0],
                    "sheet_id": sheet_id,
                    "assessor_id": user_id,
                    "argument": "The evidence shows more.",
                    "status": ChallengeStatus.OPEN if i % 2 else ChallengeStatus.KEY_STANDS,
                    "created_at": now - dt.timedelta(hours=i),
                }
                for i, (sheet_id, user_id) in enumerate(sheets)
            ],
        )
    ]
    sessions = [
        row[0]
        for row in session.execute(
            insert(RecalibrationSession).returning(RecalibrationSession.id, sort_by_parameter_order=True),
            [
                {
                    "program_id": world.program_a,
                    "title": f"{tag} session {i:03d}",
                    # odd ones upcoming, even ones past (and every fourth cancelled)
                    "starts_at": now + dt.timedelta(days=1 + i) * (1 if i % 2 else -1),
                    "duration_minutes": 60,
                    "timezone": "UTC",
                    "location": "Room 1",
                    "trainer_id": world.ids["trainer"],
                    "capacity": 4,
                    "status": SessionStatus.SCHEDULED if i % 4 else SessionStatus.CANCELLED,
                }
                for i in range(n // 5)
            ],
        )
    ]
    recal_rounds = [r for i, r in enumerate(rounds) if kinds[i % len(kinds)] == RoundKind.RECALIBRATION]
    recalibrations = [
        row[0]
        for row in session.execute(
            insert(Recalibration).returning(Recalibration.id, sort_by_parameter_order=True),
            [
                {
                    "program_id": world.program_a,
                    "user_id": certified[i],
                    "round_id": recal_rounds[i % len(recal_rounds)],
                    "attempt": 1,
                    "deadline": now + dt.timedelta(days=14),
                    "outcome": RecalibrationOutcome.PENDING,
                }
                for i in range(n // 10)
            ],
        )
    ]
    session.execute(
        insert(SessionBooking),
        [
            {
                "session_id": s,
                "user_id": certified[i],
                "recalibration_id": recalibrations[i] if i < len(recalibrations) and i % 2 else None,
                "status": BookingStatus.BOOKED,
                "uid": f"{tag}-{n}-{i}@test",
            }
            for i, s in enumerate(sessions)
        ],
    )
    session.execute(
        insert(RecalibrationWait),
        [
            {
                "program_id": world.program_a,
                "user_id": certified[-1 - i],
                "rubric_version_id": world.rubric_id,
                "status": WaitStatus.WAITING,
                "shortfall_json": json.dumps({}),
            }
            for i in range(n // 10)
        ],
    )
    session.commit()
    return Filled(people, rounds, flags, challenges, sessions)
