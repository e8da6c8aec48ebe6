"""Accuracy result objects, and the builder that turns per-group arrays into them lazily.

Private: :mod:`calibration.stats.accuracy` computes the arrays and re-exports these classes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ._checks import _EPS, _py
from .proportions import _proportion
from .results import Estimate, Proportion

#: Central tendency flag: the assessor's share of middle levels exceeds the key's by at least this much...
CENTRAL_TENDENCY_EXCESS = 0.20
#: ...over at least this many criterion-scores.
CENTRAL_TENDENCY_MIN_SCORES = 10


@dataclass(frozen=True)
class DecisionAgreement:
    """Agreement on the earned / not-yet decision at the rubric's earn cut.

    ``false_earned``: assessor at or above the cut where the key is below it; ``false_not_yet``: the
    reverse.
    """

    earn_cut: Any
    agreement: Proportion
    false_earned: int
    false_not_yet: int


@dataclass(frozen=True)
class CategoryUse:
    """How often the assessor and the key use each level, with two descriptive flags.

    ``central_tendency``: the rubric has a middle (``q >= 3``), there are at least
    ``CENTRAL_TENDENCY_MIN_SCORES`` scores, and the assessor's share of middle levels (all but the lowest
    and highest) exceeds the key's by at least ``CENTRAL_TENDENCY_EXCESS``. ``restricted_range``: the
    assessor uses fewer distinct levels than the key does.
    """

    levels: tuple[Any, ...]
    assessor_counts: tuple[int, ...]
    key_counts: tuple[int, ...]
    assessor_share: tuple[float, ...] | None
    key_share: tuple[float, ...] | None
    middle_excess: float | None
    central_tendency: bool
    restricted_range: bool


@dataclass(frozen=True)
class AccuracyResult:
    """Accuracy of one group of criterion-scores (one assessor, one criterion, or everyone)."""

    rater: Hashable | None
    criterion: Hashable | None
    levels: tuple[Any, ...]
    n: int
    exact: Proportion
    adjacent: Proportion
    discrepant: Proportion
    mean_signed_deviation: Estimate
    mean_absolute_deviation: float | None
    weighted_kappa: Estimate
    decision: DecisionAgreement | None
    confusion: tuple[tuple[int, ...], ...]
    category_use: CategoryUse

    @property
    def confusion_matrix(self) -> np.ndarray:
        """``q x q`` counts: rows are the assessor's level, columns the key's level."""
        return np.array(self.confusion, dtype=np.int64).reshape(len(self.levels), len(self.levels))


@dataclass(frozen=True, eq=False)
class AccuracyArrays:
    """Per-group accuracy statistics as arrays (NaN where undefined), for large inputs.

    Every field has the group axis first; ``confusion`` is ``(G, q, q)``; ``*_ci`` fields are ``(G, 2)``
    Wilson (shares) or normal (kappa) 95% limits.
    """

    n: np.ndarray
    exact: np.ndarray
    adjacent: np.ndarray
    discrepant: np.ndarray
    exact_ci: np.ndarray
    adjacent_ci: np.ndarray
    discrepant_ci: np.ndarray
    mean_signed: np.ndarray
    se_signed: np.ndarray
    ci_low_signed: np.ndarray
    ci_high_signed: np.ndarray
    mean_absolute: np.ndarray
    kappa: np.ndarray
    kappa_se: np.ndarray
    kappa_ci: np.ndarray
    decision_agree: np.ndarray | None
    decision_ci: np.ndarray | None
    false_earned: np.ndarray | None
    false_not_yet: np.ndarray | None
    confusion: np.ndarray


@dataclass(frozen=True)
class AccuracyTable:
    """Accuracy for everyone, per rater, per criterion and per (rater, criterion).

    The three mappings are read-only; their result objects are built on first access from arrays
    computed up front, so a large table costs little until it is read.
    """

    levels: tuple[Any, ...]
    earn_cut: Any
    overall: AccuracyResult
    by_rater: Mapping[Hashable, AccuracyResult]
    by_criterion: Mapping[Hashable, AccuracyResult]
    by_rater_criterion: Mapping[tuple[Hashable, Hashable], AccuracyResult]


# ------------------------------------------------------------------------------------ result building
def _kappa_reason(row: np.ndarray, col: np.ndarray, lv: np.ndarray) -> str:
    if row.sum() == 0:
        return "no scores"
    used_a, used_k = np.flatnonzero(row), np.flatnonzero(col)
    if used_k.size < 2 and used_a.size < 2:
        return (
            f"no variation: the assessor used only level {_py(lv[used_a[0]])!r} and the key has only "
            f"level {_py(lv[used_k[0]])!r}"
        )
    if used_k.size < 2:
        return f"no variation: the key has only level {_py(lv[used_k[0]])!r}"
    return f"no variation: the assessor used only level {_py(lv[used_a[0]])!r}"


class _ResultBuilder:
    """Turns :class:`AccuracyArrays` into result objects; arrays become lists once, not per group."""

    def __init__(self, arr: AccuracyArrays, lv: np.ndarray, earn_cut: Any) -> None:
        self.lv = lv
        self.levels = tuple(_py(x) for x in lv)
        self.earn_cut = earn_cut
        self.has_cut = arr.decision_agree is not None
        conf = arr.confusion
        self.conf = conf.tolist()
        self.row, self.col = conf.sum(axis=2).tolist(), conf.sum(axis=1).tolist()
        names = ["n", "exact", "adjacent", "discrepant", "mean_signed", "se_signed", "ci_low_signed"]
        names += ["ci_high_signed", "mean_absolute", "kappa", "kappa_se", "kappa_ci"]
        names += ["exact_ci", "adjacent_ci", "discrepant_ci"]
        if self.has_cut:
            names += ["decision_agree", "decision_ci", "false_earned", "false_not_yet"]
        self.a = {name: getattr(arr, name).tolist() for name in names}

    def build(self, g: int, *, rater: Any, criterion: Any, n_raters: int) -> AccuracyResult:
        a, levels = self.a, self.levels
        n = a["n"][g]
        row, col = self.row[g], self.col[g]
        if n >= 2:
            msd = Estimate(
                "mean_signed_deviation",
                a["mean_signed"][g],
                se=a["se_signed"][g],
                ci_low=a["ci_low_signed"][g],
                ci_high=a["ci_high_signed"][g],
                ci_method="t",
                n_units=n,
                n_raters=n_raters,
            )
        else:
            reason = "no scores" if n == 0 else "fewer than two scores"
            msd = Estimate("mean_signed_deviation", None, n_units=n, n_raters=n_raters, reason=reason)
        k = a["kappa"][g]
        if k != k:  # NaN: undefined
            reason = _kappa_reason(np.array(row), np.array(col), self.lv)
            kappa = Estimate("weighted_kappa_quadratic", None, n_units=n, n_raters=n_raters, reason=reason)
        else:
            kappa = Estimate(
                "weighted_kappa_quadratic",
                k,
                se=a["kappa_se"][g],
                ci_low=a["kappa_ci"][g][0],
                ci_high=a["kappa_ci"][g][1],
                ci_method="normal",
                n_units=n,
                n_raters=n_raters,
            )
        decision = None
        if self.has_cut:
            agreement = _proportion(a["decision_agree"][g], n, *a["decision_ci"][g])
            decision = DecisionAgreement(
                self.earn_cut, agreement, a["false_earned"][g], a["false_not_yet"][g]
            )
        excess = (sum(row[1:-1]) - sum(col[1:-1])) / n if n > 0 and len(levels) >= 3 else None
        use = CategoryUse(
            levels=levels,
            assessor_counts=tuple(row),
            key_counts=tuple(col),
            assessor_share=tuple(x / n for x in row) if n else None,
            key_share=tuple(x / n for x in col) if n else None,
            middle_excess=excess,
            central_tendency=bool(
                excess is not None
                and n >= CENTRAL_TENDENCY_MIN_SCORES
                and excess >= CENTRAL_TENDENCY_EXCESS - _EPS
            ),
            restricted_range=sum(x > 0 for x in row) < sum(x > 0 for x in col),
        )
        mad = a["mean_absolute"][g]
        return AccuracyResult(
            rater=rater,
            criterion=criterion,
            levels=levels,
            n=n,
            exact=_proportion(a["exact"][g], n, *a["exact_ci"][g]),
            adjacent=_proportion(a["adjacent"][g], n, *a["adjacent_ci"][g]),
            discrepant=_proportion(a["discrepant"][g], n, *a["discrepant_ci"][g]),
            mean_signed_deviation=msd,
            mean_absolute_deviation=None if mad != mad else mad,
            weighted_kappa=kappa,
            decision=decision,
            confusion=tuple(tuple(r) for r in self.conf[g]),
            category_use=use,
        )


class _GroupBuild:
    """Builds the result of one group of a table's ``by_rater``, ``by_criterion`` or
    ``by_rater_criterion`` (``scope``); a plain object, not a closure, so a pickled table carries the
    builder's arrays and builds its results when read, instead of carrying every result object."""

    __slots__ = ("builder", "n_raters", "scope")

    def __init__(self, builder: _ResultBuilder, scope: str, n_raters: tuple[int, ...] = ()) -> None:
        self.builder = builder
        self.scope = scope
        self.n_raters = n_raters  # per group, for ``by_criterion``

    def __call__(self, key: Any, g: int) -> AccuracyResult:
        if self.scope == "rater":
            return self.builder.build(g, rater=key, criterion=None, n_raters=1)
        if self.scope == "criterion":
            return self.builder.build(g, rater=None, criterion=key, n_raters=self.n_raters[g])
        return self.builder.build(g, rater=key[0], criterion=key[1], n_raters=1)

    def __reduce__(self) -> tuple[Any, tuple[_ResultBuilder, str, tuple[int, ...]]]:
        return _GroupBuild, (self.builder, self.scope, self.n_raters)


class _LazyResults(Mapping[Any, "AccuracyResult"]):
    """Read-only mapping whose result objects are built on first access (and then kept).

    A round has hundreds of (rater, criterion) groups; building every object up front costs more than all
    the arithmetic, and a page usually shows a few of them.
    """

    __slots__ = ("_build", "_cache", "_index")

    def __init__(self, index: dict[Any, int], build: Callable[[Any, int], AccuracyResult]) -> None:
        self._index = index
        self._build = build
        self._cache: dict[Any, AccuracyResult] = {}

    def __getitem__(self, key: Any) -> AccuracyResult:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._build(key, self._index[key])
        return hit

    def __iter__(self) -> Iterator[Any]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"<{len(self)} accuracy results: {list(self._index)[:5]}{'...' if len(self) > 5 else ''}>"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its index and builder (a :class:`_GroupBuild`), still lazy when loaded; with
        another builder (a closure) with every result built, as a read-only mapping."""
        if isinstance(self._build, _GroupBuild):
            return _LazyResults, (self._index, self._build)
        return _built_results, ({key: self[key] for key in self._index},)


def _built_results(items: dict[Any, AccuracyResult]) -> Mapping[Any, AccuracyResult]:
    return MappingProxyType(items)
