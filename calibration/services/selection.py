"""Choosing a round's anchors automatically: every level of every criterion covered (DESIGN §6).

Pure: plain values in, anchor ids out, no database. The caller supplies the candidates (with the
level their current key gives each criterion), the rubric's criteria and levels, and the anchors to
leave out (for qualification and recalibration rounds, those any assigned assessor has already
seen). The choice is a greedy set cover of the (criterion, level) pairs, then filled up to the
target count; every tie is broken by a seeded shuffle, so the same inputs and seed always give the
same anchors.

Optional ``criterion_weights`` lean the choice toward some criteria (recalibration weighting toward
the criteria an assessor drifts on): a pair of a weighted criterion counts that much more, both
while covering and while filling.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..stats.labels import MIN_ANCHORS
from .errors import DomainError

DEFAULT_TARGET = MIN_ANCHORS  # DESIGN §6 minimum evidence: no decision from fewer anchors

C = TypeVar("C", bound=Hashable)  # how the caller names a criterion (an id, a key...)
Pair = tuple[Any, int]  # (criterion, level)


@dataclass(frozen=True)
class Candidate(Generic[C]):
    """An anchor that may be chosen, with its current key: criterion -> level."""

    anchor_id: int
    key: Mapping[C, int]

    def pairs(self, wanted: Collection[Pair]) -> frozenset[Pair]:
        """The (criterion, level) pairs of this anchor's key that the round must cover."""
        return frozenset(p for p in self.key.items() if p in wanted)


class CoverageImpossible(DomainError):
    """No choice of the available anchors covers every level of every criterion.

    ``missing`` lists the (criterion, level) pairs that no available anchor's key has.
    """

    def __init__(self, message: str, missing: Sequence[Pair], *, n_excluded: int = 0) -> None:
        super().__init__(message)
        self.missing: tuple[Pair, ...] = tuple(missing)
        self.n_excluded = n_excluded  # candidates left out through ``exclude``


def select_anchors(
    candidates: Iterable[Candidate[C]],
    *,
    criteria: Sequence[C],
    levels: Sequence[int],
    exclude: Collection[int] = frozenset(),
    target: int = DEFAULT_TARGET,
    seed: int = 0,
    criterion_weights: Mapping[C, float] | None = None,
    criterion_titles: Mapping[C, str] | None = None,
) -> list[int]:
    """Anchor ids that together cover every level of every criterion, at least ``target`` of them
    when enough candidates are available (more when covering needs more).

    Parameters
    ----------
    candidates
        Anchors that may be chosen, each with its key levels per criterion.
    criteria, levels
        The rubric's criteria and ordered levels: every pair of them must be covered.
    exclude
        Anchor ids never to choose (e.g. anchors the assigned assessors have already seen).
    target
        How many anchors to return when enough are available (default 5, the minimum evidence).
    seed
        Breaks ties reproducibly.
    criterion_weights
        Positive weights per criterion (default 1): heavier criteria's levels are preferred.
    criterion_titles
        Names used in the error message (defaults to the criterion itself).

    Returns
    -------
    list of int
        Anchor ids in the order they were chosen (the covering anchors first).

    Raises
    ------
    CoverageImpossible
        Some (criterion, level) pairs appear in no available candidate's key; the message names them.
    ValueError
        ``target`` below 1, an empty rubric, or a weight that is not a positive finite number.

    Examples
    --------
    >>> pool = [Candidate(1, {"a": 1}), Candidate(2, {"a": 2}), Candidate(3, {"a": 2})]
    >>> sorted(select_anchors(pool, criteria=["a"], levels=[1, 2], exclude={3}, target=2))
    [1, 2]
    >>> select_anchors(pool, criteria=["a"], levels=[1, 2], exclude={1})
    Traceback (most recent call last):
        ...
    calibration.services.selection.CoverageImpossible: The available anchors cannot cover every level of every criterion: no anchor's key has “a” at level 1. Add or activate anchors with those key levels, or choose anchors by hand.
    """
    if target < 1:
        raise ValueError(f"target must be at least 1, got {target}")
    if not criteria or not levels:
        raise ValueError("the rubric needs at least one criterion and one level")
    weights: dict[Any, float] = {c: 1.0 for c in criteria}
    for criterion, weight in (criterion_weights or {}).items():
        if not (isinstance(weight, int | float) and math.isfinite(weight) and weight > 0):
            raise ValueError(f"criterion weight for {criterion!r} must be a positive number, got {weight!r}")
        if criterion in weights:
            weights[criterion] = float(weight)

    wanted: set[Pair] = {(c, lv) for c in criteria for lv in levels}
    excluded = set(exclude)
    by_id: dict[int, Candidate[C]] = {}
    left_out: set[int] = set()
    for candidate in candidates:
        if candidate.anchor_id in excluded:
            left_out.add(candidate.anchor_id)
        else:
            by_id.setdefault(candidate.anchor_id, candidate)
    # Input order must not matter: sort by id, then one seeded shuffle decides every tie.
    pool = sorted(by_id)
    random.Random(seed).shuffle(pool)
    rank = {anchor_id: i for i, anchor_id in enumerate(pool)}
    pairs = {anchor_id: by_id[anchor_id].pairs(wanted) for anchor_id in pool}

    available: set[Pair] = set().union(*pairs.values())
    order = {c: i for i, c in enumerate(criteria)}
    missing = sorted(wanted - available, key=lambda p: (order[p[0]], p[1]))
    if missing:
        raise CoverageImpossible(
            _missing_message(missing, criteria, criterion_titles), missing, n_excluded=len(left_out)
        )

    chosen: list[int] = []
    uncovered = set(wanted)
    # Greedy set cover: take the anchor adding the most (weighted) uncovered pairs.
    while uncovered:
        best = max(
            (a for a in pool if a not in chosen),
            key=lambda a: (sum(weights[c] for c, _ in pairs[a] & uncovered), -rank[a]),
        )
        chosen.append(best)
        uncovered -= pairs[best]

    # Fill to the target, favouring pairs covered least so far (spread over levels), weighted.
    times: dict[Pair, int] = {p: 0 for p in wanted}
    for anchor_id in chosen:
        for p in pairs[anchor_id]:
            times[p] += 1
    while len(chosen) < target and len(chosen) < len(pool):
        best = max(
            (a for a in pool if a not in chosen),
            key=lambda a: (sum(weights[c] / (1 + times[(c, lv)]) for c, lv in pairs[a]), -rank[a]),
        )
        chosen.append(best)
        for p in pairs[best]:
            times[p] += 1
    return chosen


def covered_pairs(keys: Iterable[Mapping[Any, int]]) -> set[Pair]:
    """Every (criterion, level) pair present in the given keys (for checks and tests)."""
    return {pair for key in keys for pair in key.items()}


def _missing_message(
    missing: Sequence[Pair],
    criteria: Sequence[Any],
    titles: Mapping[Any, str] | None,
) -> str:
    names: Mapping[Any, str] = titles or {}
    by_criterion: dict[Any, list[int]] = {}
    for criterion, level in missing:
        by_criterion.setdefault(criterion, []).append(level)
    parts = [
        f"“{names.get(c, c)}” at level{'s' if len(lvls) > 1 else ''} {', '.join(map(str, lvls))}"
        for c in criteria
        if (lvls := by_criterion.get(c))
    ]
    return (
        "The available anchors cannot cover every level of every criterion: no anchor's key has "
        + "; ".join(parts)
        + ". Add or activate anchors with those key levels, or choose anchors by hand."
    )
