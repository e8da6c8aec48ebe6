"""Every published case in ``reference_cases.json`` (a verbatim copy of the shared reference file), each
with its citation, within the tolerance the source's printed decimals allow.

Rule (per field): ``abs(computed - expected) <= 0.5 * 10**-decimals + 1e-9``, or ``tolerance.abs`` for
the fields listed there. A field whose convention we do not offer is listed in ``NOT_OFFERED`` with the
reason; there are none (Light's kappa gives R irr's z and p since issue 20).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from calibration import stats

CASES_FILE = Path(__file__).with_name("reference_cases.json")
CASES = json.loads(CASES_FILE.read_text())["cases"]

#: (case id, field) -> why we do not compute it.
NOT_OFFERED: dict[tuple[str, str], str] = {}

NEVER_UNOFFERED = {"krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "gwet_ac1", "icc"}


def _long_rows(values: list[list[Any]]) -> tuple[list[int], list[int], list[float]]:
    units, raters, vals = [], [], []
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v is not None:
                units.append(i)
                raters.append(j)
                vals.append(v)
    return units, raters, vals


def _levels(case: dict[str, Any]) -> list[Any]:
    data = case["data"]
    if "categories" in data:
        return data["categories"]
    return sorted({v for row in data["values"] for v in row if v is not None})


def _weights(options: dict[str, Any]) -> str | None:
    w = options.get("weights")
    return None if w in (None, "none", "identity") else w


def _compute(case: dict[str, Any]) -> dict[str, Any]:
    """The statistic the case describes, as a dict of field -> computed value."""
    stat = case["statistic"]
    opts = case["options"]
    data = case["data"]
    layout = data["layout"]
    if layout == "contingency_table":
        est = stats.cohen_kappa_from_table(data["values"], weights=_weights(opts))
        return _fields(est)
    if layout == "units_x_category_counts":
        est = stats.fleiss_kappa_from_counts(data["values"], weights=_weights(opts))
        return _fields(est)
    units, raters, values = _long_rows(data["values"])
    levels = _levels(case) if stat != "icc" else None
    w = _weights(opts)
    if stat == "krippendorff_alpha":
        level = opts["level"].split()[0]
        est = stats.krippendorff_alpha(units, raters, values, levels=levels, level_of_measurement=level)
    elif stat == "fleiss_kappa":
        est = stats.fleiss_kappa(units, raters, values, levels=levels, weights=w)
    elif stat == "conger_kappa":
        est = stats.conger_kappa(units, raters, values, levels=levels, weights=w)
    elif stat == "gwet_ac1":
        est = stats.gwet_ac1(units, raters, values, levels=levels, weights=w)
    elif stat == "brennan_prediger":
        est = stats.brennan_prediger(units, raters, values, levels=levels, weights=w)
    elif stat == "light_kappa":
        est = stats.light_kappa(units, raters, values, levels=levels, weights=w)
    elif stat == "percent_agreement":
        definition = "pairwise" if "pairwise" in opts["definition"] else "all"
        est = stats.percent_agreement(
            units, raters, values, levels=levels, definition=definition,
            tolerance=opts.get("tolerance", 0), weights=w,
        )  # fmt: skip
        if "percent" in case.get("notes", "").lower():
            return {"value": 100 * est.value}
    elif stat == "icc":
        form = opts["form"]  # e.g. "ICC(2,k)"
        est = stats.icc(units, raters, values)[form]
    else:  # pragma: no cover - a new statistic in the reference file must be wired here
        raise AssertionError(f"no implementation wired for statistic {stat!r}")
    return _fields(est)


def _fields(est: stats.Estimate) -> dict[str, Any]:
    out: dict[str, Any] = {"value": est.value, "se": est.se, "ci95": [est.ci_low, est.ci_high]}
    out.update(est.extra)
    out.update({k: list(v) for k, v in est.detail.items()})
    return out


def _tolerance(case: dict[str, Any], field: str) -> float:
    tol = case["tolerance"]
    if field in tol.get("abs", {}):
        return tol["abs"][field] + 1e-9
    return 0.5 * 10 ** -tol["decimals"][field] + 1e-9


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reference_case(case: dict[str, Any]) -> None:
    assert case["source"]["citation"], "every case keeps its citation"
    computed = _compute(case)
    for field, expected in case["expected"].items():
        if (case["id"], field) in NOT_OFFERED:
            continue
        assert field in computed, f"{case['id']}: field {field!r} not computed"
        got = computed[field]
        tol = _tolerance(case, field)
        exp_list = expected if isinstance(expected, list) else [expected]
        got_list = got if isinstance(got, list) else [got]
        assert len(got_list) == len(exp_list), f"{case['id']}.{field}: {got!r} vs {expected!r}"
        for g, e in zip(got_list, exp_list, strict=True):
            assert g is not None and not math.isnan(g), f"{case['id']}.{field} undefined"
            assert abs(g - e) <= tol, f"{case['id']}.{field}: computed {g!r}, published {e!r} (tol {tol:g})"


def test_all_cases_present_and_cited() -> None:
    doc = json.loads(CASES_FILE.read_text())
    assert len(CASES) == doc["n_cases"] == 33
    assert all(c["source"]["citation"] for c in CASES)


def test_nothing_unoffered_for_the_headline_statistics() -> None:
    by_id = {c["id"]: c["statistic"] for c in CASES}
    assert not [k for k in NOT_OFFERED if by_id[k[0]] in NEVER_UNOFFERED]
