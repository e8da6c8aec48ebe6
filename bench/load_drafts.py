"""The draft mode of ``bench/load.py`` (``--drafts``): assessors who autosave while they score.

Each simulated assessor logs in during the ramp-up, then until the end of ``--duration`` seconds
works on one anchor at a time: it saves a draft of what it has chosen so far every
``--draft-every`` seconds (10 by default, as the score page's script does) and submits the sheet
every ``--submit-every`` seconds (60), then moves to its next anchor. Start times are spread so
the saves do not come in lockstep. Printed: p50/p95/p99 of draft saves and submits, errors, and
rows stored against accepted: sheets stored = submits accepted (none lost or duplicated), no
draft left behind for a submitted anchor (the submit deletes it in its own transaction), and one
draft row for each anchor still being worked on whose last save was accepted.

    .venv/bin/python bench/load.py --drafts --db sqlite --duration 120
    .venv/bin/python bench/load.py --drafts --db postgresql --duration 120

Targets (issue 16): p99 < 300 ms for both, 0 errors, 0 lost or duplicated.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from dataclasses import dataclass, field

import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from calibration.models import ScoreDraft, ScoreSheet, User


@dataclass
class DraftStats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"draft": [], "submit": []})
    errors: list[str] = field(default_factory=list)
    accepted_submits: set[tuple[str, int]] = field(default_factory=set)
    open_drafts: set[tuple[str, int]] = field(default_factory=set)  # saved and not submitted since
    uncertain: int = 0

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def fail(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def worker(
    base: str, email: str, password: str, token_re: object, round_id: int, anchor_ids: list[int],
    criteria: list[int], start_at: float, work_from: float, end_at: float, draft_every: float,
    submit_every: float, stats: DraftStats, seed: int,
) -> None:  # fmt: skip
    rng = random.Random(seed)
    time.sleep(max(0.0, start_at - time.monotonic()))
    web = requests.Session()
    try:
        token = token_re.search(web.get(base + "/login", timeout=60).text).group(1)  # type: ignore[attr-defined]
        resp = web.post(base + "/login", data={"email": email, "password": password, "csrf_token": token},
                        allow_redirects=False, timeout=60)  # fmt: skip
        if resp.status_code != 302:
            stats.fail(f"login {email}: {resp.status_code}")
            return
        order = list(anchor_ids)
        rng.shuffle(order)
        page = web.get(f"{base}/rounds/{round_id}/anchors/{order[0]}", timeout=60)
        token = token_re.search(page.text).group(1)  # type: ignore[attr-defined]
        # Spread the phase: the first save somewhere in the first interval after the ramp-up.
        next_draft = work_from + rng.uniform(0, draft_every)
        next_submit = work_from + rng.uniform(draft_every, submit_every)
        for anchor_id in order:
            url = f"{base}/rounds/{round_id}/anchors/{anchor_id}"
            chosen: dict[str, str] = {}
            while True:
                now = time.monotonic()
                if now >= end_at:
                    return
                if next_submit <= next_draft:
                    time.sleep(max(0.0, next_submit - now))
                    if time.monotonic() >= end_at:
                        return
                    data = {f"criterion_{c}": str(rng.choice([1, 2, 3, 4])) for c in criteria}
                    data.update(notes=f"final {rng.random():.6f}", csrf_token=token, action="submit")
                    t0 = time.perf_counter()
                    try:
                        resp = web.post(url, data=data, allow_redirects=False, timeout=30)
                    except requests.RequestException as exc:
                        with stats.lock:
                            stats.uncertain += 1
                        stats.fail(f"submit {url}: {exc!r}")
                        next_submit += submit_every
                        break
                    stats.add("submit", time.perf_counter() - t0)
                    if resp.status_code == 302:
                        with stats.lock:
                            stats.accepted_submits.add((email, anchor_id))
                            stats.open_drafts.discard((email, anchor_id))
                    else:
                        stats.fail(f"submit {url}: {resp.status_code}")
                    next_submit += submit_every
                    break  # on to the next anchor
                time.sleep(max(0.0, next_draft - now))
                if time.monotonic() >= end_at:
                    return
                chosen[f"criterion_{rng.choice(criteria)}"] = str(rng.choice([1, 2, 3, 4]))
                data = {**chosen, "notes": f"draft {rng.random():.6f}", "csrf_token": token}
                t0 = time.perf_counter()
                try:
                    resp = web.post(url + "/draft", data=data, headers={"Accept": "application/json"},
                                    allow_redirects=False, timeout=30)  # fmt: skip
                except requests.RequestException as exc:
                    stats.fail(f"draft {url}: {exc!r}")
                    next_draft += draft_every
                    continue
                stats.add("draft", time.perf_counter() - t0)
                if resp.status_code == 200 and resp.json().get("saved"):
                    with stats.lock:
                        stats.open_drafts.add((email, anchor_id))
                else:
                    stats.fail(f"draft {url}: {resp.status_code}")
                next_draft += draft_every
    except requests.RequestException as exc:
        stats.fail(f"{email}: {exc!r}")
    finally:
        web.close()


def stored(url: str, round_id: int) -> tuple[set[tuple[str, int]], set[tuple[str, int]], int]:
    """(sheets as (email, anchor), drafts as (email, anchor), duplicated sheet keys)."""
    engine = create_engine(url)
    with Session(engine) as s:
        sheets = s.execute(
            select(User.email, ScoreSheet.anchor_id).join(User, User.id == ScoreSheet.assessor_id)
            .where(ScoreSheet.round_id == round_id)
        ).all()  # fmt: skip
        drafts = s.execute(
            select(User.email, ScoreDraft.anchor_id).join(User, User.id == ScoreDraft.assessor_id)
            .where(ScoreDraft.round_id == round_id)
        ).all()  # fmt: skip
        dupes = s.scalar(
            select(func.count()).select_from(
                select(ScoreSheet.anchor_id)
                .group_by(ScoreSheet.round_id, ScoreSheet.anchor_id, ScoreSheet.assessor_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    engine.dispose()
    return {(e, a) for e, a in sheets}, {(e, a) for e, a in drafts}, dupes or 0


def run_drafts(args: argparse.Namespace, kind: str) -> bool:
    import contextlib

    from load import _TOKEN, PASSWORD, build, database, gunicorn, pct

    with database(kind) as url:
        round_id, anchor_ids, emails, criteria = build(url, assessors=args.assessors, anchors=args.anchors)
        print(f"\n== drafts, {kind}, {args.workers} workers: {args.assessors} assessors, draft every "
              f"{args.draft_every:g} s, submit every {args.submit_every:g} s, for {args.duration:g} s")  # fmt: skip
        with contextlib.ExitStack() as stack:
            base = stack.enter_context(gunicorn(url, workers=args.workers, extra_args=["--backlog", "2048"]))
            stats = DraftStats()
            now = time.monotonic()
            work_from = now + args.ramp
            end_at = work_from + args.duration
            threads = [
                threading.Thread(
                    target=worker,
                    args=(
                        base,
                        email,
                        PASSWORD,
                        _TOKEN,
                        round_id,
                        anchor_ids,
                        criteria,
                        now + args.ramp * i / len(emails),
                        work_from,
                        end_at,
                        args.draft_every,
                        args.submit_every,
                        stats,
                        i,
                    ),
                    daemon=True,
                )
                for i, email in enumerate(emails)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=args.ramp + args.duration + 120)
        sheets, drafts, dupes = stored(url, round_id)
    lost = stats.accepted_submits - sheets
    extra = sheets - stats.accepted_submits
    left_behind = drafts & sheets
    missing_drafts = stats.open_drafts - drafts
    for kind_name in ("draft", "submit"):
        values = stats.latencies[kind_name]
        print(f"{kind_name:>7}: {len(values):5d} requests  p50 {pct(values, 50):7.1f} ms  "
              f"p95 {pct(values, 95):7.1f} ms  p99 {pct(values, 99):7.1f} ms")  # fmt: skip
    print(f" errors: {len(stats.errors)} (no reply: {stats.uncertain})")
    for line in stats.errors[:5]:
        print(f"         {line}")
    print(f"   rows: sheets {len(sheets)} stored / {len(stats.accepted_submits)} accepted "
          f"(lost {len(lost)}, not accepted {len(extra)}, duplicated {dupes}); drafts {len(drafts)} stored / "
          f"{len(stats.open_drafts)} open (missing {len(missing_drafts)}, left behind a final sheet {len(left_behind)})")  # fmt: skip
    p99 = max(pct(stats.latencies["draft"], 99), pct(stats.latencies["submit"], 99))
    ok = not stats.errors and not lost and not dupes and not left_behind and not missing_drafts and p99 < 300
    ok = ok and len(extra) <= stats.uncertain
    print(f"  {'PASS' if ok else 'FAIL'}: p99 < 300 ms for both, 0 errors, 0 lost or duplicated")
    return ok
