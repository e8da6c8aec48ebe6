"""The issue-6 drift rules on the issue-6 scenarios, kept for comparison with issue 15 (bench/drift_sim.py).

Run: ``.venv/bin/python bench/drift_sim_old.py`` (or ``bench/drift_sim.py --old``) (about a minute on two cores; ``--programs N`` for the main
scenario, ``--other-programs N`` for the others, ``--seed S``). Not a test: it prints a table per scenario.

Model (seeded). A program has 7, 15, 30 or 50 assessors (cycled) and 20 calibration rounds. Each round
has fresh anchors x criteria on a 4-level rubric (1-4, earn cut 3); an anchor has an overall quality
uniform on the four levels and each criterion's key is that level moved by -1/0/0/+1 (clipped). An
assessor's score is ``round(key + drift + halo + noise)`` clipped to 1-4, with ``halo`` one normal draw
per (assessor, anchor) shared by its criteria (misreading a whole submission) and ``noise`` per score.
A fifth of assessors drift by +0.5 levels and a fifth by +1 level from a start round drawn in 6-14;
the rest are stable (personal bias 0 unless the scenario says otherwise).

Rules as the service runs them: sigma from the pool's first five rounds (``pool_sigma``, a Phase I
reference period), then (b) ``ewma_drift`` overall and per criterion, (c) ``accuracy_drop``, (a) the
pass rule per round via ``evaluate_pass_rule`` and ``pass_rule_drift``, and (d) ``cohort_drift`` on
each round's ordinal alpha. A drifter counts as detected from the first flag at or after its start
round; "within 3" means flagged in the start round or the two after it. A stable assessor's false
alarm is any flag in its 20 rounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.stats import (
    accuracy_by_rater,
    accuracy_drop,
    clearly_below,
    cohort_drift,
    evaluate_pass_rule,
    ewma_drift,
    krippendorff_alpha,
    pass_rule_drift,
    pool_sigma,
)

LEVELS = np.array([1, 2, 3, 4])
ROUNDS = 20
SIZES = (7, 15, 30, 50)
PHASE_ONE = 5  # rounds the pool's sigma is estimated from


@dataclass(frozen=True)
class Scenario:
    name: str
    anchors: int = 8
    criteria: int = 4
    noise: float = 0.40
    halo: float = 0.15
    bias_sd: float = 0.0  # stable assessors' personal bias


SCENARIOS = (
    Scenario("8 anchors x 4 criteria (main)"),
    Scenario("8 x 4, noisier assessors", noise=0.5, halo=0.2),
    Scenario("5 x 4 (DESIGN's minimum)", anchors=5),
    Scenario("8 x 4, stable assessors with a personal bias (sd 0.1)", bias_sd=0.1),
)


def simulate(
    rng: np.random.Generator, n_assessors: int, sc: Scenario, drifters: bool = True
) -> dict[str, np.ndarray]:
    """Long rows of one program, plus each assessor's drift size and start round."""
    size = rng.choice([0.0, 0.5, 1.0], n_assessors, p=[0.6, 0.2, 0.2] if drifters else [1.0, 0.0, 0.0])
    start = np.where(size > 0, rng.integers(6, 15, n_assessors), ROUNDS + 1)
    bias = (
        np.where(size > 0, 0.0, rng.normal(0, sc.bias_sd, n_assessors))
        if sc.bias_sd
        else np.zeros(n_assessors)
    )
    t, a, j, c = (
        x.ravel()
        for x in np.meshgrid(
            np.arange(1, ROUNDS + 1),
            np.arange(n_assessors),
            np.arange(sc.anchors),
            np.arange(sc.criteria),
            indexing="ij",
        )
    )
    anchor = t * 100 + j
    quality = rng.integers(1, 5, (ROUNDS + 1, sc.anchors))
    key_ac = np.clip(
        quality[:, :, None] + rng.choice([-1, 0, 0, 1], (ROUNDS + 1, sc.anchors, sc.criteria)), 1, 4
    )
    key = key_ac[t, j, c]
    halo = rng.normal(0, sc.halo, (n_assessors, ROUNDS + 1, sc.anchors))[a, t, j]
    latent = key + bias[a] + size[a] * (t >= start[a]) + halo + rng.normal(0, sc.noise, t.size)
    score = np.clip(np.rint(latent), 1, 4).astype(np.int64)
    return {"t": t, "a": a, "u": anchor, "c": c, "key": key, "score": score, "size": size, "start": start}


def first_at_or_after(rounds: tuple, start: int) -> int | None:
    later = [r for r in rounds if r >= start]
    return min(later) if later else None


def evaluate(prog: dict[str, np.ndarray]) -> dict[str, list]:
    """Per assessor, the signal rounds of each rule; and the cohort rule's flagged rounds."""
    t, a, u, c, key, score = (prog[k] for k in ("t", "a", "u", "c", "key", "score"))
    phase1 = t <= PHASE_ONE
    sigma = pool_sigma(
        t[phase1], a[phase1], u[phase1], score[phase1], key[phase1], levels=LEVELS, criteria=c[phase1]
    )
    table = ewma_drift(t, a, u, score, key, levels=LEVELS, criteria=c, sigma=sigma)
    zone = ewma_drift(t, a, u, score, key, levels=LEVELS, sigma=sigma, min_shift=0.25)
    drop = accuracy_drop(t, a, u, score, key, levels=LEVELS)
    n_assessors = prog["size"].size
    outcomes: list[list[str]] = [[] for _ in range(n_assessors)]
    clear: list[list[bool]] = [[] for _ in range(n_assessors)]
    alphas: list[float | None] = []
    cohort_flags: list[int] = []
    n_anchors = len(np.unique(u[t == 1]))
    for r in range(1, ROUNDS + 1):
        m = t == r
        acc = accuracy_by_rater(a[m], score[m], key[m], levels=LEVELS, earn_cut=3)
        for i in range(n_assessors):
            outcomes[i].append(evaluate_pass_rule(acc.by_rater[i], n_anchors=n_anchors).outcome)
            clear[i].append(outcomes[i][-1] == "fail" and clearly_below(acc.by_rater[i]))
        alphas.append(krippendorff_alpha(u[m] * 10 + c[m], a[m], score[m], levels=LEVELS, n_boot=0).value)
        cd = cohort_drift(alphas, n_anchors=n_anchors, n_scores=int(m.sum()))
        if cd.flagged:
            cohort_flags.append(r)
    out: dict[str, list] = {"ewma": [], "ewma_zone": [], "ewma_crit": [], "acc": [], "pass": [], "clear": []}
    rounds = list(range(1, ROUNDS + 1))
    for i in range(n_assessors):
        out["ewma"].append(table.overall[i].signal_rounds)
        out["ewma_zone"].append(zone.overall[i].signal_rounds)
        crit = sorted({r for k in range(c.max() + 1) for r in table.by_criterion[(i, k)].signal_rounds})
        out["ewma_crit"].append(tuple(crit))
        out["acc"].append(drop[i].flagged_rounds)
        out["pass"].append(pass_rule_drift(outcomes[i], rounds=rounds).failed_rounds)
        out["clear"].append(tuple(r for r, hit in zip(rounds, clear[i], strict=True) if hit))
    out["cohort"] = cohort_flags
    return out


RULES = (
    ("(b) EWMA overall", ("ewma",)),
    ("(b) EWMA overall, min_shift 0.25", ("ewma_zone",)),
    ("(b) EWMA per criterion", ("ewma_crit",)),
    ("(b) EWMA overall or per criterion", ("ewma", "ewma_crit")),
    ("(c) accuracy drop", ("acc",)),
    ("(b) overall or (c)", ("ewma", "acc")),
    ("(a) round below pass rule", ("pass",)),
    ("(a) clearly below (default)", ("clear",)),
)


def run(sc: Scenario, n_programs: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    per_rule: dict[str, dict[str, list]] = {name: {"stable": [], 0.5: [], 1.0: []} for name, _ in RULES}
    cohort_any = []
    exact = []
    t0 = time.perf_counter()
    for p in range(n_programs):
        prog = simulate(rng, SIZES[p % len(SIZES)], sc)
        res = evaluate(prog)
        cohort_any.append(bool(res["cohort"]))
        exact.append(float(np.mean(prog["score"][prog["t"] < 6] == prog["key"][prog["t"] < 6])))
        for name, keys in RULES:
            for i, (size, start) in enumerate(zip(prog["size"], prog["start"], strict=True)):
                rounds = tuple(sorted({r for k in keys for r in res[k][i]}))
                if size == 0:
                    per_rule[name]["stable"].append(bool(rounds))
                else:
                    first = first_at_or_after(rounds, int(start))
                    per_rule[name][float(size)].append(None if first is None else first - int(start) + 1)
    cohort_stable = [
        bool(evaluate(simulate(rng, SIZES[p % len(SIZES)], sc, drifters=False))["cohort"])
        for p in range(n_programs // 2)
    ]
    elapsed = time.perf_counter() - t0
    n_stable = len(per_rule[RULES[0][0]]["stable"])
    n_half, n_one = len(per_rule[RULES[0][0]][0.5]), len(per_rule[RULES[0][0]][1.0])
    print(f"\n## {sc.name}: {n_programs} programs, {n_stable} stable, {n_half} +0.5 and {n_one} +1 drifters")
    print(
        f"   noise sd {sc.noise}, halo sd {sc.halo}, stable bias sd {sc.bias_sd}; stable exact agreement "
        f"in rounds 1-5: {np.mean(exact):.0%}; {elapsed:.1f} s"
    )
    head = f"{'rule':<36}{'+1: <=3 rds':>12}{'+1: ever':>10}{'+1: median':>11}{'+.5: <=3':>10}{'+.5: ever':>10}{'+.5: median':>12}{'stable FA':>11}"
    print(head)
    print("-" * len(head))
    for name, _ in RULES:
        cells = []
        for size in (1.0, 0.5):
            delays = per_rule[name][size]
            hit = [d for d in delays if d is not None]
            within = np.mean([d is not None and d <= 3 for d in delays]) if delays else float("nan")
            ever = len(hit) / len(delays) if delays else float("nan")
            med = f"{np.median(hit):.0f}" if hit else "-"
            cells.append((within, ever, med))
        fa = np.mean(per_rule[name]["stable"]) if per_rule[name]["stable"] else float("nan")
        (w1, e1, m1), (w5, e5, m5) = cells
        print(f"{name:<36}{w1:>12.1%}{e1:>10.1%}{m1:>11}{w5:>10.1%}{e5:>10.1%}{m5:>12}{fa:>11.1%}")
    print(
        f"(d) cohort rule, programs flagged at least once in 20 rounds: {np.mean(cohort_stable):.1%} of "
        f"{len(cohort_stable)} all-stable programs, {np.mean(cohort_any):.1%} of the programs above"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=200, help="programs, main scenario (default 200)")
    ap.add_argument("--other-programs", type=int, default=60, help="programs, other scenarios (default 60)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--main-only", action="store_true", help="only the main scenario")
    args = ap.parse_args(argv)
    print("Drift rules on simulated programs: share of drifters flagged within 3 rounds of the start and")
    print("ever (at or after the start), median rounds to detection (1 = in the start round), and the")
    print("false-alarm rate (FA): stable assessors flagged at least once over 20 rounds.")
    for k, sc in enumerate(SCENARIOS[:1] if args.main_only else SCENARIOS):
        run(sc, args.programs if k == 0 else args.other_programs, args.seed + k)


if __name__ == "__main__":
    main()
