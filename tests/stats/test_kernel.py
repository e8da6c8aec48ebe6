"""One validation kernel: every statistic checks levels, lengths and ids the same way.

Also the shape of the package that issue 14 asks for: shared types defined once, no module over 600
lines, no private helper borrowed from ``accuracy.py``, no import cycle inside ``calibration.stats``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest

import calibration.stats as stats
from calibration.stats import _checks, results
from calibration.stats._checks import _check_lengths, _check_levels, _factorize, _weight_matrix

PACKAGE = Path(stats.__file__).parent
# import_module: the package's function ``accuracy`` shadows the submodule's name.
accuracy_module = importlib.import_module("calibration.stats.accuracy")
A = [1, 2, 3, 4, 4, 3, 2, 1]
B = [1, 2, 4, 4, 3, 3, 1, 2]
UNITS = list(range(len(A))) * 2
RATERS = [1] * len(A) + [2] * len(B)


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as caught:
        fn(*args, **kwargs)
    return str(caught.value)


# ----------------------------------------------------------------------------------------- levels
@pytest.mark.parametrize(
    "levels",
    [None, [1], [1, 1, 2], [2, 1, 3, 4], [1.0, np.nan], [[1, 2]]],
    ids=["none", "one", "repeated", "unsorted", "nan", "nested"],
)
def test_every_statistic_refuses_bad_levels_with_the_same_message(levels) -> None:
    expected = _message(_check_levels, levels)
    assert "levels" in expected
    assert _message(stats.to_index, [1], levels) == expected
    assert _message(stats.accuracy, A, B, levels=levels) == expected
    assert _message(stats.accuracy_by_rater, RATERS, A + B, B + A, levels=levels) == expected
    assert _message(stats.cohen_kappa, A, B, levels=levels) == expected
    assert _message(stats.krippendorff_alpha, UNITS, RATERS, A + B, levels=levels) == expected
    assert _message(stats.fleiss_kappa, UNITS, RATERS, A + B, levels=levels) == expected
    assert _message(stats.anchor_summary, UNITS, RATERS, A + B, B + A, levels=levels) == expected


def test_named_levels_are_for_accuracy_only() -> None:
    named = ["Emerging", "Proficient"]
    assert _check_levels(named, labels=True).tolist() == named
    r = stats.accuracy(["Proficient", "Emerging"], ["Proficient", "Proficient"], levels=named)
    assert r.exact.count == 1
    message = _message(stats.krippendorff_alpha, [1, 1], [1, 2], ["Emerging", "Proficient"], levels=named)
    assert message.startswith("levels must be numbers")


def test_true_false_levels_are_numbers_for_the_coefficients_and_labels_for_accuracy() -> None:
    assert _check_levels([False, True]).tolist() == [0, 1]
    assert _check_levels([False, True], labels=True).tolist() == [False, True]


# ---------------------------------------------------------------------------------------- lengths
def test_unequal_lengths_read_the_same_everywhere() -> None:
    assert _message(_check_lengths, units=[1, 2], values=[1]) == (
        "long rows must have equal lengths: values has 1 rows but units has 2"
    )
    assert _message(stats.value_count_patterns, [1, 2], [1], levels=[1, 2]).startswith(
        "long rows must have equal lengths: "
    )
    assert _message(stats.accuracy_by_rater, [1, 2], [1, 2], [1], levels=[1, 2]) == (
        "long rows must have equal lengths: key has 1 rows but raters has 2"
    )


def test_lengths_skip_columns_not_given_and_refuse_scalars() -> None:
    assert _check_lengths(units=[1, 2, 3], criteria=None, values=[1, 2, 3]) == 3
    assert _message(_check_lengths, units=5, values=[1]) == "units must be one-dimensional, got shape ()"


# -------------------------------------------------------------------------------------------- ids
@pytest.mark.parametrize(
    "ids",
    [
        np.array([7, 3, 7, 5]),
        np.array([-2, 10**12, -2, 4]),  # too wide for the counting fast path
        np.array(["b", "a", "b", "c"]),
        np.array([2.5, 1.0, 2.5]),
    ],
    ids=["small-int", "wide-int", "str", "float"],
)
def test_factorize_gives_dense_codes_and_sorted_ids(ids: np.ndarray) -> None:
    codes, uniq = _factorize(ids, "units")
    assert uniq.tolist() == sorted(set(ids.tolist()))
    assert codes.dtype == np.intp
    assert uniq[codes].tolist() == ids.tolist()


def test_factorize_refuses_missing_and_nested_ids() -> None:
    assert _message(_factorize, np.array([1.0, np.nan]), "raters") == "raters must not be missing (NaN)"
    assert _message(_factorize, [[1, 2]], "units") == "units must be one-dimensional, got shape (1, 2)"
    codes, uniq = _factorize(np.zeros(0, np.int64), "units")
    assert codes.size == 0 and uniq.size == 0


# ---------------------------------------------------------------------------------------- weights
def test_one_weight_matrix_behind_both_spellings() -> None:
    for weights in ("linear", "quadratic", None):
        assert np.array_equal(stats.weight_matrix(4, weights), _weight_matrix(4, weights))
    assert np.array_equal(_weight_matrix(3, "identity"), np.eye(3))
    with pytest.raises(ValueError, match="weights must be"):
        stats.weight_matrix(3, "identity")  # the accuracy spelling has None only, as before
    with pytest.raises(ValueError, match="weights must be"):
        _weight_matrix(3, "cubic")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ share
def test_proportion_value_is_its_share_under_the_estimate_name() -> None:
    share = stats.wilson_interval(13, 20)
    assert share.value == share.p == 0.65
    assert stats.wilson_interval(0, 0).value is None
    assert stats.Proportion is results.Proportion is accuracy_module.Proportion
    r = stats.accuracy([1, 2, 2], [1, 2, 1], levels=[1, 2])
    assert r.exact.value == r.exact.p
    assert r.mean_signed_deviation.value is not None  # an Estimate reads the same way


# -------------------------------------------------------------------------------------- structure
def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text()) for p in sorted(PACKAGE.glob("*.py"))}


def _stats_imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(module, names) for every import from inside calibration.stats."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.level == 1:
                found.append((node.module, [a.name for a in node.names]))
            elif node.module.startswith("calibration.stats."):
                found.append((node.module.removeprefix("calibration.stats."), [a.name for a in node.names]))
    return found


def test_no_module_in_stats_is_over_600_lines() -> None:
    long = {p.name: n for p in PACKAGE.glob("*.py") if (n := len(p.read_text().splitlines())) > 600}
    assert not long


@pytest.mark.parametrize(
    "name",
    ["_check_levels", "_check_lengths", "_factorize", "_weight_matrix", "Weights", "LevelOfMeasurement"],
)
def test_shared_checks_and_types_are_defined_once(name: str) -> None:
    where = []
    for module, tree in _modules().items():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                where.append(module)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    where.append(module)
    assert len(where) == 1, where


def test_kernel_and_types_depend_on_nothing_in_the_package() -> None:
    modules = _modules()
    assert [m for m, _ in _stats_imports(modules["_types"])] == []
    assert [m for m, _ in _stats_imports(modules["_checks"])] == ["_types"]
    assert _checks.__doc__ and "validation kernel" in _checks.__doc__


def test_no_module_borrows_private_helpers_from_accuracy() -> None:
    borrowed = [
        (module, name)
        for module, tree in _modules().items()
        for source, names in _stats_imports(tree)
        if source == "accuracy"
        for name in names
        if name.startswith("_")
    ]
    assert not borrowed


def test_stats_modules_import_each_other_without_cycles() -> None:
    graph = {
        module: {source.split(".")[0] for source, _ in _stats_imports(tree)}
        for module, tree in _modules().items()
        if module != "__init__"
    }
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph.get(module, ())):
            assert state.get(nxt) != 1, " -> ".join([*path, module, nxt])
            if nxt not in state:
                visit(nxt, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
