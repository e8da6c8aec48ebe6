"""Simulation check of the drift rules (issues 6 and 15): false alarms of the whole system, and detection.

Run: ``nice -n 10 .venv/bin/python bench/drift_sim.py`` (about ten minutes on two shared cores;
``--programs N`` mixed and N all-stable programs per scenario, default 200, ``--seed S``,
``--only NAME``, ``--old`` to add the issue-6 rules' table). Not a test: it prints a table per scenario
and ends with one ``summary <scenario>: ...`` line per scenario, for scripts.

Model (seeded). A program has 7, 15, 30 or 50 assessors (cycled; 7 in ``small-7``) and 20 calibration
rounds. Each round has fresh anchors x criteria on a 4-level rubric (1-4, earn cut 3); an anchor has an
overall quality uniform on the four levels and each criterion's key is that level moved by -1/0/0/+1
(clipped). An assessor's score is ``round(key + bias + drift + halo + noise)`` clipped to 1-4, with
``bias`` a stable assessor's constant personal lean (normal, sd per scenario), ``halo`` one normal draw
per (assessor, anchor) shared by its criteria and ``noise`` per score. Drifters: +0.5 or +1 level from a
start round in 6-14; in ``gradual`` +0.05 per round from a start in 6-11 (so ten rounds fit); in
``one-criterion`` +1 on one criterion only; in ``cohort-drift`` every assessor +0.5 from one start round.

The system (issue 15), per assessor: ``self_starting_drift`` overall and per criterion (sigma from the
pool's first five rounds, ``pool_sigma``) and a round ``clearly_below`` the pass rule at the budget's
confidence (``below_pass_rule``, sheets as clusters); per program: ``cohort_level_drift`` and
``cohort_alpha_drift`` on each round's ordinal alpha with its jackknife SE over anchors (``round_alpha``). ``lean`` is reported apart: it is not a drift flag.

Figures. *Stable flagged*: stable assessors (in mixed and in all-stable programs) flagged by any
assessor rule at least once in 20 rounds. *Cohort flagged*: all-stable programs flagged by any cohort
rule at least once. A drifter counts as detected from its first flag at or after its start round;
"within 3" means in the start round or the two after it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.stats import pool_sigma
from calibration.stats.budget import ASSESSOR_BUDGET
from calibration.stats.cohort import cohort_alpha_drift, cohort_level_drift, round_alpha
from calibration.stats.lean import lean
from calibration.stats.passcheck import below_pass_rule
from calibration.stats.selfstart import self_starting_drift

LEVELS = np.array([1, 2, 3, 4])
ROUNDS = 20
SIZES = (7, 15, 30, 50)
PHASE_ONE = 5  # rounds the pool's sigma is estimated from


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    anchors: int = 8
    criteria: int = 4
    noise: float = 0.40
    halo: float = 0.15
    bias_sd: float = 0.0  # stable assessors' personal bias
    # shares of: stable, +0.5 step, +1 step, gradual +0.05/round, +1 on one criterion
    mix: tuple[float, float, float, float, float] = (0.6, 0.2, 0.2, 0.0, 0.0)
    cohort_shift: float = 0.0  # every assessor drifts by this much from one start round
    sizes: tuple[int, ...] = SIZES


SCENARIOS = (
    Scenario("main", "8 anchors x 4 criteria (main)"),
    Scenario("bias-0.1", "8 x 4, stable assessors with a personal bias (sd 0.1)", bias_sd=0.1),
    Scenario("bias-0.2", "8 x 4, stable assessors with a personal bias (sd 0.2)", bias_sd=0.2),
    Scenario("noisier", "8 x 4, noisier assessors (noise sd 0.5, halo sd 0.2)", noise=0.5, halo=0.2),
    Scenario("minimum-5x4", "5 x 4 (DESIGN's minimum round)", anchors=5),
    Scenario("halo", "8 x 4, strong halo (halo sd 0.35)", halo=0.35),
    Scenario("gradual", "8 x 4, gradual drifters (+0.05 per round)", mix=(0.6, 0.1, 0.1, 0.2, 0.0)),
    Scenario("one-criterion", "8 x 4, drift on one criterion only (+1)", mix=(0.6, 0.1, 0.1, 0.0, 0.2)),
    Scenario("cohort-drift", "8 x 4, whole cohort drifts +0.5", mix=(1.0, 0, 0, 0, 0), cohort_shift=0.5),
    Scenario("small-7", "8 x 4, small programs of 7 assessors", sizes=(7,)),
)
KINDS = ("stable", "+0.5", "+1", "gradual", "one-criterion")


def simulate(rng: np.random.Generator, n: int, sc: Scenario, drifters: bool = True) -> dict[str, np.ndarray]:
    """Long rows of one program, plus each assessor's kind and start round."""
    mix = np.array(sc.mix if drifters else (1.0, 0, 0, 0, 0))
    kind = rng.choice(len(KINDS), n, p=mix / mix.sum())
    start = np.where(kind == 3, rng.integers(6, 12, n), rng.integers(6, 15, n))
    start = np.where(kind > 0, start, ROUNDS + 1)
    bias = np.where(kind == 0, rng.normal(0, sc.bias_sd, n), 0.0) if sc.bias_sd else np.zeros(n)
    crit0 = rng.integers(0, sc.criteria, n)
    cohort_start = int(rng.integers(6, 15)) if drifters and sc.cohort_shift else ROUNDS + 1
    t, a, j, c = (
        x.ravel()
        for x in np.meshgrid(
            np.arange(1, ROUNDS + 1),
            np.arange(n),
            np.arange(sc.anchors),
            np.arange(sc.criteria),
            indexing="ij",
        )
    )
    quality = rng.integers(1, 5, (ROUNDS + 1, sc.anchors))
    key_ac = np.clip(
        quality[:, :, None] + rng.choice([-1, 0, 0, 1], (ROUNDS + 1, sc.anchors, sc.criteria)), 1, 4
    )
    key = key_ac[t, j, c]
    on = t >= start[a]
    k = kind[a]
    drift = np.select(
        [k == 1, k == 2, k == 3, k == 4],
        [0.5 * on, 1.0 * on, 0.05 * (t - start[a] + 1) * on, 1.0 * on * (c == crit0[a])],
        0.0,
    )
    drift = drift + sc.cohort_shift * (t >= cohort_start)
    halo = rng.normal(0, sc.halo, (n, ROUNDS + 1, sc.anchors))[a, t, j]
    latent = key + bias[a] + drift + halo + rng.normal(0, sc.noise, t.size)
    score = np.clip(np.rint(latent), 1, 4).astype(np.int64)
    return {
        "t": t, "a": a, "u": t * 100 + j, "c": c, "key": key, "score": score,
        "kind": kind, "start": start, "bias": bias, "cohort_start": np.array(cohort_start),
    }  # fmt: skip


def evaluate(prog: dict[str, np.ndarray], sc: Scenario) -> dict[str, Any]:
    """Per assessor, the flagged rounds of each rule; per program, the cohort rules' flagged rounds."""
    t, a, u, c, key, score = (prog[k] for k in ("t", "a", "u", "c", "key", "score"))
    n = prog["kind"].size
    p1 = t <= PHASE_ONE
    sigma = pool_sigma(t[p1], a[p1], u[p1], score[p1], key[p1], levels=LEVELS, criteria=c[p1])
    own = self_starting_drift(t, a, u, score, key, levels=LEVELS, criteria=c, sigma=sigma)
    rules: dict[str, list[set[int]]] = {
        r: [set() for _ in range(n)] for r in ("overall", "criterion", "pass")
    }
    for i in range(n):
        rules["overall"][i] = set(own.overall[i].signal_rounds)
        rules["criterion"][i] = {
            r for k in range(sc.criteria) for r in own.by_criterion[(i, k)].signal_rounds
        }
    leans = lean(t, a, u, score, key, levels=LEVELS)
    below = below_pass_rule(t, a, u, score, key, levels=LEVELS, earn_cut=3)
    for i in range(n):
        rules["pass"][i] = set(below[i].flagged_rounds)
    per_round = [
        round_alpha(u[m] * 10 + c[m], a[m], score[m], u[m], levels=LEVELS)
        for m in (t == r for r in range(1, ROUNDS + 1))
    ]
    level = cohort_level_drift(t, a, u, score, key, levels=LEVELS)
    alpha = cohort_alpha_drift(
        [x.value for x in per_round],
        [x.se for x in per_round],
        dfs=[x.df for x in per_round],
        n_anchors=[x.n_anchors for x in per_round],
        n_scores=[x.n_scores for x in per_round],
        rounds=range(1, ROUNDS + 1),
    )
    return {
        "rules": rules,
        "lean": [set(leans[i].lean_rounds) for i in range(n)],
        "cohort_level": set(level.signal_rounds),
        "cohort_alpha": set(alpha.flagged_rounds),
    }


def first_at_or_after(rounds: set[int], start: int) -> int | None:
    later = [r for r in rounds if r >= start]
    return min(later) if later else None


def pct(x: list[bool] | list[float]) -> str:
    return f"{100 * np.mean(x):.1f}%" if len(x) else "n/a"


def run(sc: Scenario, n_programs: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    stable_any: list[bool] = []
    stable_rule: dict[str, list[bool]] = defaultdict(list)
    delays: dict[str, list[int | None]] = defaultdict(list)
    lean_small, lean_large = [], []
    cohort_stable: list[bool] = []
    cohort_rule: dict[str, list[bool]] = defaultdict(list)
    cohort_delay: list[int | None] = []
    indiv_in_cohort: list[bool] = []
    for p in range(2 * n_programs):
        mixed = p < n_programs
        size = sc.sizes[p % len(sc.sizes)]
        prog = simulate(rng, size, sc, drifters=mixed)
        res = evaluate(prog, sc)
        rules = res["rules"]
        cohort = res["cohort_level"] | res["cohort_alpha"]
        cs = int(prog["cohort_start"])
        for i, (kind, start) in enumerate(zip(prog["kind"], prog["start"], strict=True)):
            flagged = rules["overall"][i] | rules["criterion"][i] | rules["pass"][i]
            if cs <= ROUNDS:
                first = first_at_or_after(flagged, cs)
                indiv_in_cohort.append(first is not None and first - cs < 3)
                continue
            if kind == 0:
                stable_any.append(bool(flagged))
                for name in ("overall", "criterion", "pass"):
                    stable_rule[name].append(bool(rules[name][i]))
                b = abs(float(prog["bias"][i]))
                (lean_small if b < 0.1 else lean_large if b >= 0.5 else []).append(bool(res["lean"][i]))
            else:
                first = first_at_or_after(flagged, int(start))
                delays[KINDS[kind]].append(None if first is None else first - int(start) + 1)
        if mixed and cs <= ROUNDS:
            first = first_at_or_after(cohort, cs)
            cohort_delay.append(None if first is None else first - cs + 1)
        if not mixed:
            cohort_stable.append(bool(cohort))
            cohort_rule["level"].append(bool(res["cohort_level"]))
            cohort_rule["alpha"].append(bool(res["cohort_alpha"]))
    elapsed = time.perf_counter() - t0

    def within(kind: str, rounds: int) -> list[bool]:
        return [d is not None and d <= rounds for d in delays[kind]]

    print(f"\n## {sc.title}: {n_programs} mixed and {n_programs} all-stable programs; {elapsed:.0f} s")
    print(
        f"   noise sd {sc.noise}, halo sd {sc.halo}, stable bias sd {sc.bias_sd}, {sc.anchors} x {sc.criteria}"
    )
    print(
        f"   stable assessors ({len(stable_any)}) flagged at least once in 20 rounds: any rule {pct(stable_any)}"
        f" (nominal {100 * sum(ASSESSOR_BUDGET.shares.values()):.1f}%); own-level drift overall "
        f"{pct(stable_rule['overall'])}, per criterion {pct(stable_rule['criterion'])}, clearly below the "
        f"pass rule {pct(stable_rule['pass'])}"
    )
    print(
        f"   all-stable programs flagged by a cohort rule: {pct(cohort_stable)} (cohort level "
        f"{pct(cohort_rule['level'])}, alpha {pct(cohort_rule['alpha'])})"
    )
    head = f"   {'drifters':<16}{'n':>6}{'<=3 rds':>9}{'<=5 rds':>9}{'<=10 rds':>10}{'ever':>8}{'median':>8}"
    print(head)
    for kind in KINDS[1:]:
        d = delays[kind]
        if not d:
            continue
        hit = [x for x in d if x is not None]
        med = f"{np.median(hit):.0f}" if hit else "-"
        print(
            f"   {kind:<16}{len(d):>6}{pct(within(kind, 3)):>9}{pct(within(kind, 5)):>9}"
            f"{pct(within(kind, 10)):>10}{pct([x is not None for x in d]):>8}{med:>8}"
        )
    if cohort_delay:
        hit = [x for x in cohort_delay if x is not None]
        print(
            f"   cohort +0.5 drift, flagged as cohort drift: within 3 rounds "
            f"{pct([x is not None and x <= 3 for x in cohort_delay])} of {len(cohort_delay)} programs "
            f"(median {np.median(hit) if hit else '-'}); assessors also flagged individually within 3: "
            f"{pct(indiv_in_cohort)}"
        )
    print(
        f"   lean (not drift): stable assessors with |bias| < 0.1 found leaning {pct(lean_small)}; "
        f"with |bias| >= 0.5: {pct(lean_large)}"
    )
    parts = [
        f"stable flagged {pct(stable_any)}",
        f"cohort flagged {pct(cohort_stable)}",
        f"+1 within 3 rounds {pct(within('+1', 3))}",
        f"+0.5 within 5 rounds {pct(within('+0.5', 5))}",
    ]
    if delays["gradual"]:
        parts.append(f"gradual +0.05 within 10 rounds {pct(within('gradual', 10))}")
    if delays["one-criterion"]:
        parts.append(f"one-criterion +1 within 5 rounds {pct(within('one-criterion', 5))}")
    if cohort_delay:
        parts.append(f"cohort +0.5 within 3 rounds {pct([x is not None and x <= 3 for x in cohort_delay])}")
    return f"summary {sc.name}: " + ", ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--programs", type=int, default=200, help="mixed programs per scenario, and as many all-stable"
    )
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    ap.add_argument("--old", action="store_true", help="also print the issue-6 rules' table (main scenarios)")
    args = ap.parse_args()
    print(
        "Drift rules of issue 15 on simulated programs: one false-alarm budget per assessor and per program"
    )
    print(f"(nominal {ASSESSOR_BUDGET.total:.0%} over {ASSESSOR_BUDGET.rounds} rounds); seed {args.seed}.")
    lines = []
    for k, sc in enumerate(SCENARIOS):
        if args.only and sc.name not in args.only:
            continue
        lines.append(run(sc, args.programs, args.seed + k))
    if args.old:
        from drift_sim_old import main as old_main

        old_main(["--programs", str(args.programs), "--other-programs", str(max(1, args.programs // 3))])
    print()
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
