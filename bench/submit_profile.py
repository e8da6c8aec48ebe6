"""Profile of one score-sheet submit, end to end, in one process: statements and Python time.

Run::

    .venv/bin/python bench/submit_profile.py                 # SQLite file in a temporary folder
    .venv/bin/python bench/submit_profile.py --db postgresql # a private PostgreSQL server
    .venv/bin/python bench/submit_profile.py --submits 500 --top 30

It seeds the load bench's database (one round, keyed anchors, certified assessors), logs the
assessors in through the Flask test client (CSRF on), then submits ``--submits`` sheets, each on
a fresh (assessor, anchor) pair, the way a browser posts the score form. Printed: SQL statements
per submit (counted with a ``before_cursor_execute`` listener, with the distinct statements and
their counts), and the top of a cProfile of the submits (cumulative time). Counts, not wall-clock
time, are what to compare between two versions: this machine is shared.
This is a benchmark, not a test: it is not collected by pytest.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402 (after the path set-up)
from sqlalchemy.orm import Session  # noqa: E402

from bench.load import PASSWORD, build, database  # noqa: E402
from calibration import create_app  # noqa: E402
from calibration.db import get_db  # noqa: E402
from calibration.services.auth import use_cheap_hashing  # noqa: E402

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_WORDS = re.compile(r"\s+")


def shape(statement: str) -> str:
    """A statement's first words, enough to tell the statements of a submit apart."""
    text = _WORDS.sub(" ", statement).strip()
    return text[:110]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--submits", type=int, default=300)
    parser.add_argument("--assessors", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--timed", type=int, default=200, help="further submits, timed without the profiler")
    args = parser.parse_args()
    if not (1 <= args.submits <= 5000 and 0 <= args.timed <= 5000 and 1 <= args.assessors <= 200):
        parser.error("bounded: 1-5000 submits (and timed ones), 1-200 assessors")
    use_cheap_hashing(True)  # logins are not what is measured here
    anchors = (args.submits + args.timed) // args.assessors + 3  # nobody finishes the round
    with database(args.db) as url:
        round_id, anchor_ids, emails, criteria = build(url, assessors=args.assessors, anchors=anchors)
        app = create_app(
            {"DATABASE_URL": url, "SECRET_KEY": "profile-secret-key-with-enough-length-0123456789"}
        )
        clients = []
        for email in emails:
            client = app.test_client()
            token = _TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
            resp = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
            assert resp.status_code == 302, resp.status_code
            page = client.get(f"/rounds/{round_id}/anchors/{anchor_ids[0]}")
            clients.append((client, _TOKEN.search(page.get_data(as_text=True)).group(1)))
        rng = random.Random(3)
        every = [(i, a) for a in anchor_ids[1:] for i in range(len(clients))]
        pairs, timed_pairs = every[: args.submits], every[args.submits : args.submits + args.timed]
        bodies = [
            {**{f"criterion_{c}": str(rng.choice([1, 2, 3, 4])) for c in criteria}, "notes": "profile"}
            for _ in every
        ]
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        engine = get_db(app).engine
        event.listen(engine, "before_cursor_execute", count)
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        for (i, anchor_id), body in zip(pairs, bodies[: len(pairs)], strict=True):
            client, token = clients[i]
            resp = client.post(f"/rounds/{round_id}/anchors/{anchor_id}", data={**body, "csrf_token": token})
            assert resp.status_code == 302, (resp.status_code, resp.get_data(as_text=True)[:300])
        profiler.disable()
        elapsed = time.perf_counter() - t0
        event.remove(engine, "before_cursor_execute", count)

        # Unprofiled: the time one submit takes, and how long it holds the lock that every submit
        # takes in turn (SQLite: BEGIN IMMEDIATE to the end of COMMIT; PostgreSQL: the audit
        # chain's head row, locked by the append just before COMMIT, to its end).
        lock_marks = ("BEGIN IMMEDIATE", "UPDATE audit_chain_head")
        held: list[float] = []
        since: list[float] = []

        def lock_taken(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if any(mark in statement for mark in lock_marks):
                since[:] = [time.perf_counter()]

        def committed(_session: Any) -> None:
            if since:
                held.append(time.perf_counter() - since.pop())

        event.listen(engine, "before_cursor_execute", lock_taken)
        event.listen(Session, "after_commit", committed)
        whole: list[float] = []
        cpu0 = time.process_time()
        for (i, anchor_id), body in zip(timed_pairs, bodies[len(pairs) :], strict=False):
            client, token = clients[i]
            t1 = time.perf_counter()
            resp = client.post(f"/rounds/{round_id}/anchors/{anchor_id}", data={**body, "csrf_token": token})
            whole.append(time.perf_counter() - t1)
            assert resp.status_code == 302, resp.status_code
        cpu = (time.process_time() - cpu0) / max(1, len(whole))
        event.remove(engine, "before_cursor_execute", lock_taken)
        event.remove(Session, "after_commit", committed)
        get_db(app).dispose()

    n = len(pairs)
    print(
        f"== {args.db}: {n} submits in {elapsed:.2f} s in-process ({elapsed / n * 1000:.2f} ms each, profiled)"
    )
    print(f"SQL statements: {len(statements)} ({len(statements) / n:.2f} per submit)")
    for text, k in Counter(shape(s) for s in statements).most_common():
        print(f"  {k / n:5.2f}  {text}")
    if whole:
        print(
            f"unprofiled, {len(whole)} submits: {statistics.median(whole) * 1000:.2f} ms each (median), "
            f"{cpu * 1000:.2f} ms of this process's CPU each (app, client and SQLite; not PostgreSQL's); "
            f"the serialising lock held {statistics.median(held) * 1000:.2f} ms (median, "
            f"mean {statistics.fmean(held) * 1000:.2f}) per submit -> at most "
            f"{1 / statistics.fmean(held):.0f} submits/s through that lock"
        )
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(args.top)
    out.write("-- the project's own functions and the form and template layers:\n")
    stats.print_stats(r"calibration/|flask_wtf|wtforms/form|jinja2/environment", args.top)
    print(out.getvalue().replace(str(ROOT) + "/", ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
