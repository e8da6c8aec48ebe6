"""Issue 20, item 3: normal or t intervals for kappa, clipped with a note; standard bootstrap intervals
(percentile and BCa) with undefined resamples counted and a rule for when the interval is undefined;
Light's kappa with an interval by default."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from calibration import stats
from calibration.stats.bootstrap import bootstrap_interval, max_undefined_share

#: The table behind the issue's "1.164 was seen": kappa 0.8 with a normal upper end above 1.
SMALL = [[5, 0], [1, 4]]


def test_normal_interval_is_clipped_with_a_note() -> None:
    k = stats.cohen_kappa_from_table(SMALL)
    half = special.ndtri(0.975) * k.se
    assert k.value + half == pytest.approx(1.164, abs=5e-4)
    assert k.ci_method == "normal" and k.ci_high == 1.0
    assert k.ci_low == pytest.approx(k.value - half, abs=1e-12)
    assert k.ci_note == "clipped to the range of the statistic (-1 to 1); unclipped it reaches 1.164"


def test_unclipped_interval_has_no_note_and_matches_sas() -> None:
    k = stats.cohen_kappa_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    assert k.ci_note is None and k.interval == pytest.approx((0.2137, 0.7547), abs=5e-5)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_t_interval_uses_units_minus_one_df(weights) -> None:
    table = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    normal = stats.cohen_kappa_from_table(table, weights=weights)
    t = stats.cohen_kappa_from_table(table, weights=weights, interval="t")
    assert t.value == normal.value and t.se == normal.se
    half = special.stdtrit(18, 0.975) * t.se  # 19 units
    assert t.ci_method == "t" and t.extra["df"] == 18
    assert t.interval == pytest.approx((t.value - half, t.value + half), abs=1e-12)
    assert t.ci_low < normal.ci_low and t.ci_high > normal.ci_high


def test_t_interval_through_paired_ratings_and_pairwise_matrix() -> None:
    a = [1, 2, 3, 4, 4, 2, 3, 1, 2, 3]
    b = [1, 2, 3, 3, 4, 2, 4, 2, 2, 3]
    k = stats.cohen_kappa(a, b, levels=[1, 2, 3, 4], weights="quadratic", interval="t")
    units = list(range(10)) * 2
    raters = [1] * 10 + [2] * 10
    pm = stats.pairwise_kappa_matrix(units, raters, a + b, levels=[1, 2, 3, 4], interval="t")
    assert pm.ci_method == "t" and pm.interval(1, 2) == pytest.approx(k.interval, abs=1e-12)
    assert k.ci_high == 1.0 and "clipped" in k.ci_note  # the pairwise matrix clips the same way


def test_pairwise_normal_intervals_are_clipped() -> None:
    units = list(range(10)) * 2
    raters = [1] * 10 + [2] * 10
    values = [1] * 5 + [2] * 5 + [1] * 6 + [2] * 4
    pm = stats.pairwise_kappa_matrix(units, raters, values, levels=[1, 2], weights=None)
    assert pm.interval(1, 2)[1] == 1.0
    assert pm.interval(1, 2) == pytest.approx(stats.cohen_kappa_from_table(SMALL).interval, abs=1e-12)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: stats.cohen_kappa_from_table(SMALL, interval="z"), "interval"),
        (lambda: stats.cohen_kappa([1, 2], [1, 2], levels=[1, 2], interval="wald"), "interval"),
        (lambda: stats.pairwise_kappa_matrix([1, 1], [1, 2], [1, 2], levels=[1, 2], interval=None), "interval"),
        (lambda: stats.pairwise_kappa_matrix([1, 1], [1, 2], [1, 2], levels=[1, 2], boot_interval="bc"),
         "boot_interval"),
        (lambda: stats.krippendorff_alpha([1, 1], [1, 2], [1, 2], levels=[1, 2], boot_interval="BCa"),
         "boot_interval"),
        (lambda: stats.light_kappa([1, 1], [1, 2], [1, 2], levels=[1, 2], boot_interval="basic"),
         "boot_interval"),
        (lambda: stats.bootstrap_units(stats.conger_kappa, [1, 1], [1, 2], [1, 2], levels=[1, 2],
                                       method="student"), "method"),
        (lambda: bootstrap_interval([0.1, 0.2], 0.1, method="normal"), "method"),
    ],
)  # fmt: skip
def test_unknown_interval_options_name_the_argument(call, argument) -> None:
    with pytest.raises(ValueError, match=f"^{argument} must be one of"):
        call()


def test_bca_shifts_the_quantiles_by_the_bias_correction() -> None:
    reps = (np.arange(1000) + 0.5) / 1000  # uniform on (0, 1): the q-quantile is q
    z0 = 0.3
    value = float(special.ndtr(z0))  # this share of replicates lies below the estimate
    b = bootstrap_interval(reps, value, method="bca", confidence=0.9)
    assert b.z0 == pytest.approx(z0, abs=2e-3) and b.acceleration == 0.0
    z = special.ndtri(0.95)
    assert b.low == pytest.approx(special.ndtr(2 * b.z0 - z), abs=1e-3)
    assert b.high == pytest.approx(special.ndtr(2 * b.z0 + z), abs=1e-3)
    # centred estimate and no skew in the jackknife: BCa is the percentile interval
    sym = bootstrap_interval(reps, 0.5, method="bca", jackknife=[1.0, 2.0, 3.0])
    pct = bootstrap_interval(reps, 0.5)
    assert sym.acceleration == 0.0 and (sym.low, sym.high) == pytest.approx((pct.low, pct.high), abs=1e-9)


def test_bca_acceleration_is_efrons_jackknife_skewness() -> None:
    jack = np.array([0.2, 0.25, 0.3, 0.9])
    d = jack.mean() - jack
    expected = (d**3).sum() / (6 * (d**2).sum() ** 1.5)
    b = bootstrap_interval(np.linspace(0, 1, 101), 0.5, method="bca", jackknife=jack)
    assert b.acceleration == pytest.approx(expected, abs=1e-12) and b.acceleration < 0
    z = special.ndtri(0.975)
    a = b.acceleration
    assert b.high == pytest.approx(special.ndtr(z / (1 - a * z)), abs=1e-9)


def _alpha_rows(seed: int = 4, n_units: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    units = np.repeat(np.arange(n_units), 3)
    raters = np.tile([1, 2, 3], n_units)
    values = np.clip(np.repeat(rng.integers(1, 5, n_units), 3) + rng.integers(-1, 2, units.size), 1, 4)
    return units, raters, values


def test_alpha_bca_jackknife_over_patterns_equals_leaving_out_each_unit() -> None:
    units, raters, values = _alpha_rows()
    a = stats.krippendorff_alpha(units, raters, values, levels=[1, 2, 3, 4], n_boot=500, boot_interval="bca")
    jack = [
        stats.krippendorff_alpha(
            units[units != u], raters[units != u], values[units != u], levels=[1, 2, 3, 4]
        ).value
        for u in range(30)
    ]
    d = np.mean(jack) - np.array(jack)
    assert a.extra["bca_acceleration"] == pytest.approx((d**3).sum() / (6 * (d**2).sum() ** 1.5), abs=1e-12)
    pct = stats.krippendorff_alpha(units, raters, values, levels=[1, 2, 3, 4], n_boot=500)
    assert a.ci_method == "bca" and pct.ci_method == "bootstrap" and a.interval != pct.interval
    assert a.extra["boot_se"] == pct.extra["boot_se"]  # same resamples, other interval


def test_generic_bootstrap_bca_uses_the_unit_jackknife() -> None:
    units, raters, values = _alpha_rows(n_units=15)
    e = stats.bootstrap_units(stats.fleiss_kappa, units, raters, values, levels=[1, 2, 3, 4], n_boot=100,
                              method="bca")  # fmt: skip
    jack = [stats.fleiss_kappa(units[units != u], raters[units != u], values[units != u],
                               levels=[1, 2, 3, 4]).value for u in range(15)]  # fmt: skip
    d = np.mean(jack) - np.array(jack)
    assert e.ci_method == "bca"
    assert e.extra["bca_acceleration"] == pytest.approx((d**3).sum() / (6 * (d**2).sum() ** 1.5), abs=1e-12)


def test_too_many_undefined_resamples_make_the_interval_undefined() -> None:
    # One unit in six carries all the variation: about a third of resamples miss it (alpha is 0/0).
    units = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    raters = [1, 2] * 6
    values = [1] * 11 + [2]
    a = stats.krippendorff_alpha(units, raters, values, levels=[1, 2], n_boot=200)
    assert a.value is not None and a.interval is None and a.ci_method == "bootstrap"
    bad = a.extra["n_boot_undefined"]
    assert a.extra["n_boot_defined"] + bad == 200 and bad > 0.025 * 200
    assert a.ci_note == (
        f"undefined: {bad:.0f} of 200 resamples ({bad / 2:g}%) gave no value, more than the 2.5% allowed at "
        "95% confidence"
    )
    f = stats.fleiss_kappa(units, raters, values, levels=[1, 2], n_boot=200)
    assert f.interval is None and f.extra["n_boot_undefined"] > 5 and f.ci_note.startswith("undefined:")


def test_few_undefined_resamples_are_dropped_and_counted() -> None:
    reps = np.r_[np.linspace(0, 1, 98), np.nan, np.nan]
    b = bootstrap_interval(reps, 0.5)
    assert b.n_undefined == 2 and b.n_defined == 98 and b.note is None
    assert (b.low, b.high) == pytest.approx(tuple(np.quantile(reps[:98], [0.025, 0.975])), abs=1e-12)
    assert bootstrap_interval(np.r_[reps, np.nan], 0.5).low is None  # 3 of 101 (2.97%) is above 2.5%
    assert max_undefined_share(0.9) == 0.05


def test_light_kappa_has_a_bootstrap_interval_by_default() -> None:
    units, raters, values = _alpha_rows(seed=6, n_units=25)
    lk = stats.light_kappa(units, raters, values, levels=[1, 2, 3, 4])
    assert lk.ci_method == "bootstrap" and lk.extra["n_boot"] == 1000 and lk.interval is not None
    assert lk.extra["n_boot_defined"] + lk.extra["n_boot_undefined"] == 1000
    assert stats.light_kappa(units, raters, values, levels=[1, 2, 3, 4], n_boot=0).interval is None
    bca = stats.light_kappa(units, raters, values, levels=[1, 2, 3, 4], boot_interval="bca")
    assert bca.ci_method == "bca" and bca.value == lk.value and "bca_acceleration" in bca.extra


def test_light_kappa_resamples_equal_recomputing_on_each_resample() -> None:
    units, raters, values = _alpha_rows(seed=8, n_units=12)
    n_boot, seed = 40, 3
    lk = stats.light_kappa(units, raters, values, levels=[1, 2, 3, 4], n_boot=n_boot, seed=seed)
    mult = np.random.default_rng(seed).multinomial(12, np.full(12, 1 / 12), size=n_boot)  # the same draws
    reps = []
    for m in mult:
        pick = np.repeat(np.arange(12), m)
        rows = np.concatenate([np.flatnonzero(units == u) for u in pick])
        new_units = np.repeat(np.arange(pick.size), 3)
        reps.append(
            stats.light_kappa(new_units, raters[rows], values[rows], levels=[1, 2, 3, 4], n_boot=0).value
        )
    b = bootstrap_interval([np.nan if r is None else r for r in reps], lk.value)
    assert (lk.ci_low, lk.ci_high) == pytest.approx((b.low, b.high), abs=1e-6)
    assert lk.extra["n_boot_undefined"] == b.n_undefined


def test_generic_bootstrap_of_light_kappa_does_not_nest_bootstraps() -> None:
    units, raters, values = _alpha_rows(seed=6, n_units=12)
    seen: list[int] = []

    def light(u, r, v, *, n_boot: int = 1000, **kw) -> stats.Estimate:
        seen.append(n_boot)
        return stats.light_kappa(u, r, v, n_boot=n_boot, **kw)

    e = stats.bootstrap_units(light, units, raters, values, levels=[1, 2, 3, 4], n_boot=50, seed=2)
    assert e.ci_method == "bootstrap" and e.extra["n_boot"] == 50
    assert len(seen) == 51 and set(seen) == {0}  # the point estimate and 50 resamples, none bootstrapped
    assert e.value == stats.light_kappa(units, raters, values, levels=[1, 2, 3, 4], n_boot=0).value


def _missing_rows(seed: int = 9, n_units: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three raters, some units rated once or twice (Gwet's "missing" handling is exercised)."""
    units, raters, values = _alpha_rows(seed, n_units)
    keep = ~((units % 5 == 0) & (raters == 3)) & ~((units % 7 == 0) & (raters != 1))
    return units[keep], raters[keep], values[keep]


GWET_FAMILY = [
    ("fleiss_kappa", {}),
    ("fleiss_kappa", {"method": "randolph"}),
    ("fleiss_kappa", {"weights": "quadratic"}),
    ("gwet_ac1", {}),
    ("gwet_ac1", {"weights": "linear"}),
    ("brennan_prediger", {}),
    ("percent_agreement", {}),
    ("percent_agreement", {"definition": "all"}),
    ("fleiss_kappa", {"missing": "pairable"}),
]


@pytest.mark.parametrize(("name", "options"), GWET_FAMILY)
def test_gwet_family_bca_jackknife_over_patterns_equals_leaving_out_each_unit(
    name: str, options: dict[str, object]
) -> None:
    units, raters, values = _missing_rows()
    fn = getattr(stats, name)
    est = fn(units, raters, values, levels=[1, 2, 3, 4], n_boot=400, boot_interval="bca", **options)
    kept = np.unique(units)
    if options.get("missing") == "pairable" or options.get("definition") == "all":
        kept = np.array([u for u in kept if (units == u).sum() >= 2])
    jack = [fn(units[units != u], raters[units != u], values[units != u], levels=[1, 2, 3, 4], **options).value
            for u in kept]  # fmt: skip
    d = np.mean(jack) - np.array(jack)
    assert est.ci_method == "bca"
    assert est.extra["bca_acceleration"] == pytest.approx((d**3).sum() / (6 * (d**2).sum() ** 1.5), abs=1e-12)
    pct = fn(units, raters, values, levels=[1, 2, 3, 4], n_boot=400, **options)
    assert pct.ci_method == "bootstrap" and est.value == pct.value
    assert est.extra["boot_se"] == pct.extra["boot_se"]  # the same resamples, another interval
    assert est.ci_low is not None and est.ci_high is not None and est.ci_low <= est.ci_high


def test_scotts_pi_and_conger_offer_bca() -> None:
    units, raters, values = _alpha_rows(n_units=20)
    two = raters != 3
    pi = stats.scotts_pi(units[two], raters[two], values[two], levels=[1, 2, 3, 4], n_boot=300,
                         boot_interval="bca")  # fmt: skip
    jack = [stats.scotts_pi(units[two & (units != u)], raters[two & (units != u)], values[two & (units != u)],
                            levels=[1, 2, 3, 4]).value for u in range(20)]  # fmt: skip
    d = np.mean(jack) - np.array(jack)
    assert pi.ci_method == "bca"
    assert pi.extra["bca_acceleration"] == pytest.approx((d**3).sum() / (6 * (d**2).sum() ** 1.5), abs=1e-12)
    c = stats.conger_kappa(units, raters, values, levels=[1, 2, 3, 4], n_boot=60, boot_interval="bca")
    jack = [stats.conger_kappa(units[units != u], raters[units != u], values[units != u],
                               levels=[1, 2, 3, 4]).value for u in range(20)]  # fmt: skip
    d = np.mean(jack) - np.array(jack)
    assert c.ci_method == "bca"
    assert c.extra["bca_acceleration"] == pytest.approx((d**3).sum() / (6 * (d**2).sum() ** 1.5), abs=1e-12)


@pytest.mark.parametrize("name", ["fleiss_kappa", "gwet_ac1", "brennan_prediger", "percent_agreement",
                                  "conger_kappa", "scotts_pi"])  # fmt: skip
def test_an_unknown_boot_interval_is_refused_by_name(name: str) -> None:
    with pytest.raises(
        ValueError, match="boot_interval must be one of 'percentile', 'bca', got 'studentized'"
    ):
        getattr(stats, name)([1, 1], [1, 2], [1, 2], levels=[1, 2], n_boot=10, boot_interval="studentized")


def test_fleiss_from_counts_offers_bca() -> None:
    table = [[3, 0, 0], [1, 2, 0], [0, 0, 3], [0, 3, 0], [2, 1, 0], [0, 1, 2], [1, 1, 1], [3, 0, 0]]
    k = stats.fleiss_kappa_from_counts(table, n_boot=300, boot_interval="bca")
    assert k.ci_method == "bca" and "bca_acceleration" in k.extra and k.ci_low <= k.ci_high
