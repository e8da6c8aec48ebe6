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

Capacity mode (``--capacity``) measures DESIGN.md §8's capacity: the highest sustained submit rate
with submit p99 under 500 ms, zero errors and rows stored equal to submits accepted::

    .venv/bin/python bench/load.py --capacity --db sqlite
    .venv/bin/python bench/load.py --capacity --db postgresql --rates 20,40,60,80,100,120,140 --step 20

It logs ``--assessors`` assessors in before the clock starts (one CSRF token each, bodies built
up front), then offers submits open-loop: arrivals are scheduled at the step's rate whatever the
server's replies (a slow reply does not slow the offered rate), each on a fresh (assessor,
anchor) pair, sent by a thread pool over plain ``http.client``. Latency counts from the
scheduled arrival, so time a request waited for a free client thread counts too. After each
step it waits for the replies, counts the rows, and judges the step; it stops at the first
step that fails and prints the highest rate that held, per database.

Draft mode (``--drafts``, issue 16): assessors autosave a draft every 10 s and submit a sheet every
60 s; see ``bench/load_drafts.py``::

    .venv/bin/python bench/load.py --drafts --db sqlite --duration 120

Targets (DESIGN.md §8): 0 failures, 0 lost or duplicated rows, submit p99 < 500 ms on 2 cores;
capacity at least 100 submits/s on PostgreSQL and 80 on SQLite.
This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402 (after the path set-up)
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from calibration.db.migrate import upgrade  # noqa: E402
from calibration.models import CriterionScore, Membership, Role, ScoreSheet, User  # noqa: E402
from calibration.models.people import CertificationStatus  # noqa: E402
from calibration.services.auth import hash_password, use_cheap_hashing  # noqa: E402
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


@dataclass
class Step:
    """One step of the capacity ramp: the submits offered at one rate, and how they went."""

    rate: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    accepted: int = 0
    uncertain: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Signed:
    """A logged-in assessor: the cookie header and the CSRF token its form posts carry."""

    cookie: str
    token: str


def sign_in(base: str, email: str, round_id: int, anchor_id: int) -> Signed:
    """Log in through the real login form and read a CSRF token from a score page."""
    with requests.Session() as web:
        token = _TOKEN.search(web.get(base + "/login", timeout=60).text).group(1)
        resp = web.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                        allow_redirects=False, timeout=60)  # fmt: skip
        if resp.status_code != 302:
            raise RuntimeError(f"login {email}: {resp.status_code}")
        page = web.get(f"{base}/rounds/{round_id}/anchors/{anchor_id}", timeout=60)
        if page.status_code != 200:
            raise RuntimeError(f"score page for {email}: {page.status_code}")
        token = _TOKEN.search(page.text).group(1)
        cookie = "; ".join(f"{c.name}={c.value}" for c in web.cookies)
    return Signed(cookie, token)


def post_once(
    host: str, port: int, path: str, body: bytes, cookie: str, step: Step, scheduled: float
) -> None:
    """One submit on its own connection (gunicorn's sync workers close each one anyway)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        })  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        elapsed = time.perf_counter() - scheduled
        with step.lock:
            step.latencies.append(elapsed)
            step.statuses[str(resp.status)] += 1
            if resp.status == 302:
                step.accepted += 1
            else:
                step.errors.append(f"{path}: {resp.status}")
    except (OSError, http.client.HTTPException) as exc:
        with step.lock:
            step.uncertain += 1  # stored or not, unknown: the rows check allows for it
            step.statuses["no reply"] += 1
            step.errors.append(f"{path}: {exc!r}")
    finally:
        conn.close()


def count_rows(engine: Engine, round_id: int) -> tuple[int, int, int]:
    """(sheets in the round, criterion scores, duplicated (round, anchor, assessor) keys)."""
    with Session(engine) as s:
        sheets = s.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.round_id == round_id))
        scores = s.scalar(select(func.count()).select_from(CriterionScore))
        dupes = s.scalar(
            select(func.count()).select_from(
                select(ScoreSheet.anchor_id)
                .group_by(ScoreSheet.round_id, ScoreSheet.anchor_id, ScoreSheet.assessor_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    return sheets or 0, scores or 0, dupes or 0


def server_cpu_seconds(db_port: int | None) -> float:
    """CPU time (user + system) used so far by the servers this bench started: gunicorn (a child of
    this process) with its workers, and the private PostgreSQL server (its postmaster, found by its
    port, and its backends). Read from /proc, so it counts whatever else the machine is running."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    roots: set[int] = set()
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0") if db_port else []
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry)
        parent[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
        if parent[pid] == me or (cmdline and b"-p" in cmdline and str(db_port).encode() in cmdline):
            roots.add(pid)
    total = 0
    for pid in ticks:
        seen = pid
        while seen not in roots and seen in parent and seen > 1:
            seen = parent[seen]
        if seen in roots:
            total += ticks[pid]
    return total / tick


def capacity(args: argparse.Namespace, kind: str) -> float:
    """Ramp the offered submit rate; return the highest rate whose step held (0 if none did)."""
    rates = [float(r) for r in args.rates.split(",")]
    needed = int(sum(rates) * args.step * 1.2) + 100  # Poisson arrivals overshoot a little
    anchors = max(args.anchors, needed // args.assessors + 2)  # nobody finishes the round
    with database(kind) as url:
        t_build = time.perf_counter()
        use_cheap_hashing(True)  # logins happen before the clock starts and are not measured
        try:
            round_id, anchor_ids, emails, criteria = build(url, assessors=args.assessors, anchors=anchors)
        finally:
            use_cheap_hashing(False)
        print(f"\n== capacity, {kind}, {args.workers} workers: {args.assessors} assessors x {anchors} anchors x "
              f"{len(criteria)} criteria (built in {time.perf_counter() - t_build:.1f} s); steps of "
              f"{args.step:.0f} s at {', '.join(f'{r:g}' for r in rates)} submits/s, {args.arrivals} arrivals")  # fmt: skip
        engine = create_engine(url)
        db_port = make_url(url).port if kind == "postgresql" else None
        held = 0.0
        broken = False
        cpu_costs: list[float] = []
        with gunicorn(url, workers=args.workers, extra_args=["--backlog", "2048"]) as base:
            parsed = urllib.parse.urlsplit(base)
            host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
            t_login = time.perf_counter()
            with ThreadPoolExecutor(max_workers=4) as pool:
                signed = list(pool.map(lambda e: sign_in(base, e, round_id, anchor_ids[0]), emails))
            print(f"logged in {len(signed)} assessors in {time.perf_counter() - t_login:.1f} s")
            rng = random.Random(7)
            levels = [1, 2, 3, 4]
            orders = [rng.sample(anchor_ids[1:], len(anchor_ids) - 1) for _ in emails]
            # Submit k goes to assessor k % A, on that assessor's next unscored anchor.
            pairs = ((i, orders[i][j]) for j in range(len(anchor_ids) - 1) for i in range(len(emails)))
            accepted = uncertain = 0
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                for rate in rates:
                    step = Step(rate)
                    load = os.getloadavg()[0]
                    cpu_server, cpu_client = server_cpu_seconds(db_port), time.process_time()
                    futures = []
                    start = time.perf_counter()
                    due = start
                    while True:
                        due += rng.expovariate(rate) if args.arrivals == "poisson" else 1.0 / rate
                        if due - start >= args.step:
                            break
                        i, anchor_id = next(pairs)
                        body = urllib.parse.urlencode(
                            {**{f"criterion_{c}": str(rng.choice(levels)) for c in criteria},
                             "notes": f"capacity note {rng.random():.6f}", "csrf_token": signed[i].token}
                        ).encode()  # fmt: skip
                        path = f"/rounds/{round_id}/anchors/{anchor_id}"
                        time.sleep(max(0.0, due - time.perf_counter()))
                        futures.append(
                            pool.submit(post_once, host, port, path, body, signed[i].cookie, step, due)
                        )
                    for f in futures:
                        f.result(timeout=120)
                    took = time.perf_counter() - start
                    per_submit = 1000 / max(1, len(futures))
                    cpu_server = (server_cpu_seconds(db_port) - cpu_server) * per_submit
                    cpu_client = (time.process_time() - cpu_client) * per_submit
                    cpu_costs.append(cpu_server)
                    accepted += step.accepted
                    uncertain += step.uncertain
                    sheets, scores, dupes = count_rows(engine, round_id)
                    rows_ok = (
                        accepted <= sheets <= accepted + uncertain
                        and scores == sheets * len(criteria)
                        and dupes == 0
                    )
                    xs = step.latencies
                    p99 = pct(xs, 99)
                    ok = not step.errors and rows_ok and p99 < 500
                    print(f"{rate:6g}/s offered: {len(futures):5d} submits in {took:5.1f} s  "
                          f"p50={pct(xs, 50):7.1f}  p95={pct(xs, 95):7.1f}  p99={p99:7.1f}  "
                          f"max={(max(xs) * 1000 if xs else float('nan')):7.1f} ms  errors={len(step.errors)}  "
                          f"rows {sheets} stored / {accepted} accepted ({'ok' if rows_ok else 'MISMATCH'})  "
                          f"-> {'held' if ok else 'FAILED'}  [CPU per submit: servers {cpu_server:.1f} ms, "
                          f"this client {cpu_client:.1f} ms; machine load average {load:.1f}]"
                          + (f"  first errors: {step.errors[:2]}" if step.errors else ""))  # fmt: skip
                    if not ok:
                        broken = True
                        if not args.keep_going:
                            break
                    elif not broken:  # only an unbroken run of held steps from the first counts
                        held = rate
        engine.dispose()
    print(
        f"capacity on {kind}: {held:g} submits/s (highest step with p99 < 500 ms, 0 errors, rows = accepted)"
    )
    if cpu_costs:
        cost = statistics.median(cpu_costs)
        cores = os.cpu_count() or 1
        print(f"server CPU per submit (median over the steps): {cost:.1f} ms, so {cores} cores that did "
              f"nothing else would serve at most {cores * 1000 / cost:.0f} submits/s")  # fmt: skip
    return held


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
    parser.add_argument("--capacity", action="store_true", help="ramp the offered submit rate (see above)")
    parser.add_argument("--rates", default="20,40,60,80,100,120,140", help="capacity: submits/s per step")
    parser.add_argument("--step", type=float, default=20.0, help="capacity: seconds per step")
    parser.add_argument(
        "--arrivals", choices=["poisson", "even"], default="poisson", help="capacity: spacing"
    )
    parser.add_argument("--clients", type=int, default=256, help="capacity: client threads (open loop)")
    parser.add_argument(
        "--keep-going", action="store_true", help="capacity: run every step, even after one failed (costs)"
    )
    parser.add_argument(
        "--drafts", action="store_true", help="draft mode: autosave and submit (bench/load_drafts.py)"
    )
    parser.add_argument("--draft-every", type=float, default=10.0, help="drafts: seconds between saves")
    parser.add_argument("--submit-every", type=float, default=60.0, help="drafts: seconds between submits")
    args = parser.parse_args()
    if not (1 <= args.assessors <= 1000 and 0 < args.duration <= 600 and 1 <= args.instances <= 4):
        parser.error("bounded: 1-1000 assessors, up to 600 s, 1-4 instances")
    if args.instances > 1 and args.db == "sqlite":
        parser.error("several instances share a PostgreSQL database: use --db postgresql")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.drafts:
        if not (1 <= args.draft_every <= 600 and 1 <= args.submit_every <= 600 and args.instances == 1):
            parser.error("drafts: saves and submits every 1-600 s, one instance")
        from load_drafts import run_drafts

        return 0 if all([run_drafts(args, kind) for kind in kinds]) else 1
    if args.capacity:
        rates = args.rates.split(",")
        if not (
            rates and all(r.strip().replace(".", "", 1).isdigit() and 0 < float(r) <= 500 for r in rates)
        ):
            parser.error("--rates: comma-separated submits/s, each above 0 and at most 500")
        if not (0 < args.step <= 120 and len(rates) <= 20 and 1 <= args.clients <= 1000):
            parser.error("bounded: steps up to 120 s, up to 20 steps, 1-1000 client threads")
        return 0 if all([capacity(args, kind) > 0 for kind in kinds]) else 1
    results = [run(args, kind) for kind in kinds]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
