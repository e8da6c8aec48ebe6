"""The certified pool's sigma as a recorded baseline (issue 17): control limits are estimated when
the drift evaluation runs and read back by the control charts, not recomputed on every view.

:func:`record_estimate` is called by :func:`.drift.evaluate_program` with the sigma it computed; it
appends a :class:`~calibration.models.PoolSigmaEstimate` when the data differ from the latest one
(rounds, pool, highest score sheet and correction, or the estimate itself), and audits it.
:func:`latest_estimate` and :func:`baseline_of` read it for the pages (no writes).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import CertificationStatus, PoolSigmaEstimate, Round, ScoreCorrection
from ..stats.ewma import PoolSigma
from . import audit
from .context import SystemActor
from .drift_own import series_pool_sigma
from .drift_series import Series, assessor_statuses, calibration_series

#: Who makes up the certified pool whose scores give the sigma (as the drift rules read it).
POOL_STATUSES = (CertificationStatus.CERTIFIED, CertificationStatus.RECALIBRATION_DUE)

__all__ = ["SigmaBaseline", "baseline_of", "computed_baseline", "estimate_sigma", "latest_estimate"]
__all__ += ["record_estimate", "record_program_estimates"]


@dataclass(frozen=True)
class SigmaBaseline:
    """Where the limits' sigma came from, in the words a page needs."""

    estimate_id: int | None  # None: computed for this view (no estimate recorded yet)
    first_round: str | None
    last_round: str | None
    n_rounds: int
    n_assessors: int
    n_sheets: int
    computed_at: dt.datetime | None


def _sigma_fields(sigma: PoolSigma) -> dict[str, Any]:
    return {
        "per_sheet": None if sigma.per_sheet is None else float(sigma.per_sheet),
        "by_criterion_json": json.dumps(
            {str(k): float(v) for k, v in sorted(sigma.by_criterion.items(), key=lambda kv: str(kv[0]))},
            sort_keys=True,
        ),
        "df": int(sigma.df),
        "n_sheets": int(sigma.n_sheets),
        "n_scores": int(sigma.n_scores),
        "reason": sigma.reason,
    }


def estimate_sigma(row: PoolSigmaEstimate) -> PoolSigma:
    """The recorded estimate as the statistics library's :class:`PoolSigma`."""
    return PoolSigma(
        per_sheet=row.per_sheet,
        by_criterion={int(k): float(v) for k, v in json.loads(row.by_criterion_json or "{}").items()},
        df=row.df,
        n_sheets=row.n_sheets,
        n_scores=row.n_scores,
        reason=row.reason,
    )


def latest_estimate(session: Session, program_id: int, rubric_version_id: int) -> PoolSigmaEstimate | None:
    """The estimate in force for the rubric version: the latest recorded (one indexed row)."""
    return session.scalar(
        select(PoolSigmaEstimate)
        .where(
            PoolSigmaEstimate.program_id == program_id,
            PoolSigmaEstimate.rubric_version_id == rubric_version_id,
        )
        .order_by(PoolSigmaEstimate.id.desc())
        .limit(1)
    )


def record_estimate(
    session: Session,
    program_id: int,
    pool: Series,
    pool_ids: list[int],
    sigma: PoolSigma,
    *,
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> PoolSigmaEstimate | None:
    """Append the pool's sigma of ``pool`` (the certified pool's rows of one rubric version, as
    the drift rules read them) unless the latest estimate covers the same data; audited. Flushes.
    Returns the new row, or None when nothing changed."""
    round_ids = [int(r) for r in pool.round_ids]
    last_correction = session.scalar(
        select(func.max(ScoreCorrection.id)).where(ScoreCorrection.round_id.in_(round_ids))
    )
    values: dict[str, Any] = {
        **_sigma_fields(sigma),
        "round_ids_json": json.dumps(round_ids),
        "assessor_ids_json": json.dumps(sorted(int(u) for u in pool_ids)),
        "last_sheet_id": int(pool.sheet.max()) if len(pool) else None,
        "last_correction_id": None if last_correction is None else int(last_correction),
    }
    latest = latest_estimate(session, program_id, pool.rubric.id)
    if latest is not None and all(getattr(latest, k) == v for k, v in values.items()):
        return None
    row = PoolSigmaEstimate(
        program_id=program_id, rubric_version_id=pool.rubric.id, computed_at=now or utcnow(), **values
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        SystemActor(program_id, request_id),
        "drift.pool_sigma",
        object_type="pool_sigma_estimate",
        object_id=row.id,
        detail={
            "rubric_version_id": pool.rubric.id,
            "per_sheet": row.per_sheet,
            "df": row.df,
            "n_sheets": row.n_sheets,
            "n_scores": row.n_scores,
            "rounds": len(round_ids),
            "assessors": len(pool_ids),
            "previous": None if latest is None else latest.id,
        },
    )
    return row


def record_program_estimates(
    session: Session, program_id: int, *, now: dt.datetime | None = None, request_id: str | None = None
) -> list[PoolSigmaEstimate]:
    """Estimate and record the pool's sigma of every rubric version with calibration rounds, as
    :func:`.drift.evaluate_program` does when it runs for the whole program (for a program whose
    drift evaluation is not due, e.g. after a bulk import). Returns the new rows."""
    pool_ids = [u for u, s in assessor_statuses(session, program_id).items() if s in POOL_STATUSES]
    out = []
    for series in calibration_series(session, program_id):
        pool = series.mask(np.isin(series.assessor, np.asarray(pool_ids, dtype=np.int64)))
        if not len(pool):
            continue
        row = record_estimate(
            session, program_id, pool, pool_ids, series_pool_sigma(pool), now=now, request_id=request_id
        )
        if row is not None:
            out.append(row)
    return out


def baseline_of(session: Session, row: PoolSigmaEstimate) -> SigmaBaseline:
    """The recorded estimate in words: its first and last round by name (one query)."""
    ids = [int(r) for r in json.loads(row.round_ids_json or "[]")]
    ends = [ids[0], ids[-1]] if ids else []
    names = (
        dict(session.execute(select(Round.id, Round.name).where(Round.id.in_(ends))).all()) if ends else {}
    )
    return SigmaBaseline(
        estimate_id=row.id,
        first_round=names.get(ids[0]) if ids else None,
        last_round=names.get(ids[-1]) if ids else None,
        n_rounds=len(ids),
        n_assessors=len(json.loads(row.assessor_ids_json or "[]")),
        n_sheets=row.n_sheets,
        computed_at=row.computed_at,
    )


def computed_baseline(pool: Series, pool_ids: list[int], sigma: PoolSigma) -> SigmaBaseline:
    """The words for a sigma computed for this view from ``pool`` (no estimate recorded yet)."""
    names = [pool.round_names[rid] for rid in pool.round_ids]
    return SigmaBaseline(
        estimate_id=None,
        first_round=names[0] if names else None,
        last_round=names[-1] if names else None,
        n_rounds=len(names),
        n_assessors=len(pool_ids),
        n_sheets=int(sigma.n_sheets),
        computed_at=None,
    )
