"""Load benchmark: simulated assessors log in and score through real gunicorn servers on loopback.

Run (each is bounded: ramp-up + ``--duration`` seconds, ``--assessors`` clients, loopback only)::

    .venv/bin/python bench/load.py --db sqlite
    .venv/bin/python bench/load.py --db postgresql
    .venv/bin/python bench/load.py --db postgresql --instances 2     # two apps, one PostgreSQL

Each run builds a fresh database (an SQLite file in a temporary folder, or a private PostgreSQL
server started like the test suite's, with PostgreSQL's durable defaults), one program, a round
with ``--anchors`` keyed anchors and ``--assessors`` assigned assessors (real argon2id password
hashes), then starts gunicorn with ``--workers`` sync workers per instance. Each simulated
assessor is a thread with its own keep-alive HTTP session: it logs in during the ramp-up, then
until the end of the scoring time opens its next anchor, "thinks" for ``--think`` seconds and
submits the score sheet. Printed: requests, failures, latency percentiles of submit, score page
and login, and the check that rows stored equal submissions accepted (no loss, no duplicates).

Targets (DESIGN.md §8): 0 failures, 0 lost or duplicated rows, submit p99 < 500 ms on 2 cores.
This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402 (after the path set-up)
from sqlalchemy.orm import Session  # noqa: E402

from calibration.migrate import upgrade  # noqa: E402
from calibration.models import CriterionScore, Membership, Role, ScoreSheet, User  # noqa: E402
from calibration.models.people import CertificationStatus  # noqa: E402
from calibration.services.auth import hash_password  # noqa: E402
from tests.factories import make_anchor, make_program, make_round, make_rubric  # noqa: E402
from tests.pg import create_split_database, private_postgres_server  # noqa: E402
from tests.server import gunicorn  # noqa: E402

PASSWORD = "load-test-password"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"submit": [], "page": [], "login": []})
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    uncertain: int = 0  # submits whose reply never came (client timeout): stored or not, unknown

    def add(self, kind: str, seconds: float, status: int | str) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[f"{kind} {status}"] += 1

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def build(database_url: str, *, assessors: int, anchors: int) -> tuple[int, list[int], list[str], list[int]]:
    """Data in a freshly migrated database: (round id, anchor ids, assessor emails, criterion ids)."""
    engine = create_engine(database_url)
    password_hash = hash_password(PASSWORD)  # real argon2id cost: logins cost what they cost in production
    with Session(engine) as s:
        program = make_program(s, "load")
        rubric = make_rubric(s, program)
        n = len(rubric.criteria)
        values = rubric.level_values
        made = [
            make_anchor(
                s,
                program,
                rubric,
                title=f"Load anchor {i}",
                key_levels=[values[(i + j) % len(values)] for j in range(n)],
            )
            for i in range(anchors)
        ]
        users = [
            User(email=f"assessor{i}@load.test", name=f"Assessor {i}", password_hash=password_hash)
            for i in range(assessors)
        ]
        s.add_all(users)
        s.flush()
        s.add_all(
            Membership(
                user_id=u.id,
                program_id=program.id,
                role=Role.ASSESSOR,
                certification_status=CertificationStatus.CERTIFIED,
            )
            for u in users
        )
        rnd = make_round(s, program, rubric, made, users, name="Load round")
        s.commit()
        result = rnd.id, [a.id for a in made], [u.email for u in users], [c.id for c in rubric.criteria]
    engine.dispose()
    return result


def assessor(
    base: str, email: str, round_id: int, anchor_ids: list[int], criteria: list[int], levels: list[int],
    start_at: float, end_at: float, think: tuple[float, float], stats: Stats, seed: int,
) -> None:  # fmt: skip
    rng = random.Random(seed)
    time.sleep(max(0.0, start_at - time.monotonic()))
    web = requests.Session()  # keep-alive where the server offers it
    try:
        token = _TOKEN.search(web.get(base + "/login", timeout=30).text).group(1)
        t0 = time.perf_counter()
        resp = web.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                        allow_redirects=False, timeout=30)  # fmt: skip
        stats.add("login", time.perf_counter() - t0, resp.status_code)
        if resp.status_code != 302:
            stats.fail(f"login {email}: {resp.status_code}")
            return
        order = list(anchor_ids)
        rng.shuffle(order)
        for anchor_id in order:
            if time.monotonic() >= end_at:
                return
            url = f"{base}/rounds/{round_id}/anchors/{anchor_id}"
            t0 = time.perf_counter()
            page = web.get(url, timeout=30)
            stats.add("page", time.perf_counter() - t0, page.status_code)
            if page.status_code != 200:
                stats.fail(f"page {url}: {page.status_code}")
                continue
            token = _TOKEN.search(page.text).group(1)
            time.sleep(rng.uniform(*think))
            if time.monotonic() >= end_at:
                return
            data = {f"criterion_{c}": str(rng.choice(levels)) for c in criteria}
            data["notes"] = f"load note {rng.random():.6f}"
            data["csrf_token"] = token
            t0 = time.perf_counter()
            try:
                resp = web.post(url, data=data, allow_redirects=False, timeout=30)
            except requests.RequestException as exc:
                with stats.lock:
                    stats.uncertain += 1
                stats.fail(f"submit {url}: {exc!r}")
                continue
            stats.add("submit", time.perf_counter() - t0, resp.status_code)
            if resp.status_code == 302:
                with stats.lock:
                    stats.accepted += 1
            elif resp.status_code == 200 and "Already recorded" in resp.text:
                with stats.lock:
                    stats.duplicates += 1
            else:
                stats.fail(f"submit {url}: {resp.status_code}")
    except requests.RequestException as exc:
        stats.fail(f"{email}: {exc!r}")
    finally:
        web.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    """A migrated, empty database; on PostgreSQL the URL is the app role's, as the README runs it."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="calib-load-") as folder:
            url = f"sqlite:///{Path(folder) / 'load.sqlite3'}"
            upgrade(url)
            yield url
        return
    with private_postgres_server(durable=True, max_connections=100) as server:
        _owner_url, app_url = create_split_database(server.url, "calib_load")  # owner migrates
        yield app_url


def run(args: argparse.Namespace, kind: str) -> bool:
    with database(kind) as url:
        t_build = time.perf_counter()
        round_id, anchor_ids, emails, criteria = build(url, assessors=args.assessors, anchors=args.anchors)
        print(f"\n== {kind}, {args.instances} instance(s) x {args.workers} workers: {args.assessors} assessors, "
              f"{args.anchors} anchors x {len(criteria)} criteria (built in {time.perf_counter() - t_build:.1f} s)")  # fmt: skip
        with contextlib.ExitStack() as stack:
            bases = [
                stack.enter_context(gunicorn(url, workers=args.workers, extra_args=["--backlog", "2048"]))
                for _ in range(args.instances)
            ]
            stats = Stats()
            now = time.monotonic()
            end_at = now + args.ramp + args.duration
            levels = [1, 2, 3, 4]
            threads = [
                threading.Thread(
                    target=assessor,
                    args=(
                        bases[i % len(bases)],
                        email,
                        round_id,
                        anchor_ids,
                        criteria,
                        levels,
                        now + args.ramp * i / len(emails),
                        end_at,
                        (args.think_min, args.think_max),
                        stats,
                        i,
                    ),
                    daemon=True,
                )
                for i, email in enumerate(emails)
            ]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=max(1.0, end_at + 60 - time.monotonic()))
            elapsed = time.monotonic() - t0
        engine = create_engine(url)
        with Session(engine) as s:
            sheets = s.scalar(
                select(func.count()).select_from(ScoreSheet).where(ScoreSheet.round_id == round_id)
            )
            scores = s.scalar(select(func.count()).select_from(CriterionScore))
            dupes = s.scalar(
                select(func.count()).select_from(
                    select(ScoreSheet.anchor_id, ScoreSheet.assessor_id)
                    .group_by(ScoreSheet.round_id, ScoreSheet.anchor_id, ScoreSheet.assessor_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
            integrity = s.execute(text("PRAGMA integrity_check")).scalar() if kind == "sqlite" else "n/a"
        engine.dispose()

    total = sum(stats.statuses.values()) + len(emails)  # + the GET of each login page
    sub = stats.latencies["submit"]
    print(
        f"requests: {total} in {elapsed:.1f} s ({total / elapsed:.0f}/s); statuses: {dict(sorted(stats.statuses.items()))}"
    )
    print(f"failures: {len(stats.failures)}" + (f" (first: {stats.failures[:3]})" if stats.failures else ""))
    for kind_ in ("submit", "page", "login"):
        xs = stats.latencies[kind_]
        print(f"{kind_:>6}: n={len(xs):5d}  p50={pct(xs, 50):6.1f} ms  p95={pct(xs, 95):6.1f} ms  "
              f"p99={pct(xs, 99):6.1f} ms  max={(max(xs) * 1000 if xs else float('nan')):6.1f} ms")  # fmt: skip
    rows_ok = (
        stats.accepted <= sheets <= stats.accepted + stats.uncertain
        and scores == sheets * len(criteria)
        and dupes == 0
        and stats.duplicates == 0
    )
    print(f"rows: accepted {stats.accepted}, sheets stored {sheets}, criterion scores {scores} "
          f"(= {len(criteria)} x sheets: {scores == sheets * len(criteria)}), duplicate keys {dupes}, "
          f"'already recorded' replies {stats.duplicates}, unanswered submits {stats.uncertain}, integrity_check {integrity} -> {'OK' if rows_ok else 'MISMATCH'}")  # fmt: skip
    p99 = pct(sub, 99)
    ok = not stats.failures and rows_ok and p99 < 500 and integrity in ("ok", "n/a")
    print(f"target (0 failures, rows match, submit p99 < 500 ms): {'MET' if ok else 'MISSED'}  "
          f"[submit mean {statistics.fmean(sub) * 1000 if sub else float('nan'):.1f} ms]")  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--instances", type=int, default=1, help="app instances (each its own gunicorn and port)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per instance")
    parser.add_argument("--assessors", type=int, default=200)
    parser.add_argument("--anchors", type=int, default=60)
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds over which assessors log in")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of scoring after the ramp-up")
    parser.add_argument("--think-min", type=float, default=5.0)
    parser.add_argument("--think-max", type=float, default=15.0)
    args = parser.parse_args()
    if not (1 <= args.assessors <= 1000 and 0 < args.duration <= 600 and 1 <= args.instances <= 4):
        parser.error("bounded: 1-1000 assessors, up to 600 s, 1-4 instances")
    if args.instances > 1 and args.db == "sqlite":
        parser.error("several instances share a PostgreSQL database: use --db postgresql")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run(args, kind) for kind in kinds]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
