"""Benchmark of the lead trainer's pages: server-side render time, cold and warm.

Run: ``.venv/bin/python bench/report_bench.py`` (SQLite in a temporary file), with ``--postgres``
(a private PostgreSQL server started with initdb, as the tests do), or with
``--database-url postgresql://user@host/empty_db`` against an empty PostgreSQL database (migrated
here). Builds one program with 300 assessors, 400 anchors, a 10-criterion 4-level rubric and 30 past
rounds (by default every assessor scores 20 anchors in every round: 1.8 million criterion-scores),
inserted with Core ``insert()`` executemany, plus ``--corrections`` (30) trainer corrections of scores in
the latest round, made through the service (a third on the profiled assessor's sheets), and what the
workspace lists show (issue 17): a drift flag per assessor, key challenges, recalibration sessions
with bookings, and ``--audit-rows`` audited actions (through the audit service, so the chain holds).
Then times, through the Flask test client with a logged-in lead trainer, every GET page of the
trainer area (the route table's, each filled with an id of the data; downloads included):

* cold: every report, profile, alpha, chart and bootstrap cache emptied before each request;
* warm: the same request again (caches filled; queries, template and response still run).

Each figure is the median of ``--repeats`` requests. Targets (issue 17): warm < 100 ms, cold < 500 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from calibration import create_app
from calibration.db import get_db, utcnow
from calibration.db.migrate import upgrade
from calibration.models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    Assignment,
    CertificationStatus,
    Criterion,
    CriterionScore,
    Level,
    Membership,
    Program,
    Role,
    Round,
    RoundAnchor,
    RoundKind,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
    User,
)
from calibration.services import audit_log, control_charts, profiles, score_export
from calibration.services.auth import hash_password, use_cheap_hashing
from calibration.services.rules import DEFAULT_PROGRAM_SETTINGS, pass_rule_json
from calibration.stats import bootstrap
from calibration.web import charts
from calibration.web.warmup import warm_up

PASSWORD = "bench-password-1234"
TRAINER = "trainer@bench.test"
LEVELS = [(1, "Not yet evident"), (2, "Emerging"), (3, "Proficient"), (4, "Exemplary")]
CHUNK = 50_000


def build(url: str, args: argparse.Namespace) -> tuple[int, int]:
    """Insert the program with Core executemany; returns (latest round id, one assessor's id)."""
    rng = np.random.default_rng(args.seed)
    engine = get_db(app_for(url)).engine
    now = utcnow()
    with engine.begin() as conn:

        def rows(table: Any, values: list[dict[str, Any]]) -> None:
            for start in range(0, len(values), CHUNK):
                conn.execute(insert(table), values[start : start + CHUNK])

        settings = json.dumps(DEFAULT_PROGRAM_SETTINGS)
        rows(Program, [{"id": 1, "slug": "bench", "name": "Bench program", "settings_json": settings}])
        n_a = args.assessors
        use_cheap_hashing(True)
        users = [
            {"id": 1, "email": TRAINER, "name": "Lead Trainer", "password_hash": hash_password(PASSWORD)}
        ]
        users += [
            {"id": 2 + i, "email": f"a{i}@bench.test", "name": f"Assessor {i:03d}", "password_hash": None}
            for i in range(n_a)
        ]
        rows(User, users)
        # Every dict carries every key: executemany takes its columns from the first one.
        memberships: list[dict[str, Any]] = [
            {
                "user_id": 1,
                "program_id": 1,
                "role": Role.LEAD_TRAINER,
                "certification_status": None,
                "certified_at": None,
                "certification_expires_at": None,
            }
        ]
        statuses = [CertificationStatus.CERTIFIED] * 8 + [CertificationStatus.RECALIBRATION_DUE]
        for i in range(n_a):
            status = statuses[i % len(statuses)]
            expires = now + dt.timedelta(days=int(rng.integers(-20, 365)))
            memberships.append(
                {
                    "user_id": 2 + i,
                    "program_id": 1,
                    "role": Role.ASSESSOR,
                    "certification_status": status,
                    "certified_at": expires - dt.timedelta(days=365),
                    "certification_expires_at": expires,
                }
            )
        rows(Membership, memberships)
        rows(
            RubricVersion,
            [
                {
                    "id": 1,
                    "program_id": 1,
                    "slug": "bench",
                    "version": 1,
                    "title": "Bench rubric",
                    "description": "",
                    "level_of_measurement": "ordinal",
                    "earn_cut": 3,
                    "content_hash": "0" * 64,
                    "definition_json": "{}",
                    "source": None,
                }
            ],
        )
        rows(
            Level,
            [{"id": v, "rubric_version_id": 1, "value": v, "position": v, "label": t} for v, t in LEVELS],
        )
        n_c = args.criteria
        rows(
            Criterion,
            [
                {
                    "id": c + 1,
                    "rubric_version_id": 1,
                    "key": f"c{c}",
                    "position": c,
                    "title": f"Criterion {c + 1}",
                }
                for c in range(n_c)
            ],
        )
        n_an = args.anchors
        rows(
            Anchor,
            [
                {
                    "id": a + 1,
                    "program_id": 1,
                    "rubric_version_id": 1,
                    "title": f"Anchor {a + 1}",
                    "evidence_md": "Evidence.",
                    "purpose": AnchorPurpose.CALIBRATION,
                }
                for a in range(n_an)
            ],
        )
        rows(
            AnchorKeyVersion,
            [{"id": a + 1, "anchor_id": a + 1, "version": 1, "reason": "initial"} for a in range(n_an)],
        )
        key = rng.choice([1, 2, 3, 4], size=(n_an, n_c), p=[0.15, 0.35, 0.35, 0.15])
        rows(
            AnchorKeyEntry,
            [
                {
                    "key_version_id": a + 1,
                    "criterion_id": c + 1,
                    "level_id": int(key[a, c]),
                    "level_value": int(key[a, c]),
                    "rationale": "Because.",
                }
                for a in range(n_an)
                for c in range(n_c)
            ],
        )
        severity = rng.normal(0.0, 0.3, n_a)
        rule = pass_rule_json(settings)
        sheet_id = 0
        per_round = args.anchors_per_round
        for r in range(args.rounds):
            opens = now - dt.timedelta(days=30 * (args.rounds - r))
            rid = r + 1
            rows(
                Round,
                [
                    {
                        "id": rid,
                        "program_id": 1,
                        "rubric_version_id": 1,
                        "name": f"Calibration {r + 1:02d}",
                        "kind": RoundKind.CALIBRATION,
                        "status": RoundStatus.CLOSED,
                        "opens_at": opens,
                        "closes_at": opens + dt.timedelta(days=14),
                        "pass_rule_json": rule,
                    }
                ],
            )
            anchors = rng.choice(n_an, size=per_round, replace=False)
            rows(
                RoundAnchor,
                [{"round_id": rid, "anchor_id": int(a) + 1, "position": i} for i, a in enumerate(anchors)],
            )
            rows(Assignment, [{"round_id": rid, "user_id": 2 + i} for i in range(n_a)])
            sheets, scores = [], []
            for i in range(n_a):
                latent = key[anchors] + severity[i] + rng.normal(0.0, 0.55, size=(per_round, n_c))
                levels = np.clip(np.rint(latent), 1, 4).astype(int)
                for j, a in enumerate(anchors):
                    sheet_id += 1
                    sheets.append(
                        {
                            "id": sheet_id,
                            "round_id": rid,
                            "anchor_id": int(a) + 1,
                            "assessor_id": 2 + i,
                            "key_version_id": int(a) + 1,
                            "notes": "",
                            "submitted_at": opens + dt.timedelta(minutes=sheet_id % 10_000),
                        }
                    )
                    lv = levels[j].tolist()
                    scores += [
                        {"sheet_id": sheet_id, "criterion_id": c + 1, "level_id": lv[c], "level_value": lv[c]}
                        for c in range(n_c)
                    ]
            rows(ScoreSheet, sheets)
            rows(CriterionScore, scores)
            print(f"  round {rid:2d}: {len(sheets):,} sheets, {len(scores):,} criterion-scores", flush=True)
    _correct_some(engine, rng, round_id=args.rounds, user_id=2, n=args.corrections)
    _workspace(engine, args, now)
    _record_sigma(engine)
    return args.rounds, 2


def _record_sigma(engine: Any) -> None:
    """The pool sigma estimate a whole-program drift evaluation records (the control charts'
    limits), through the same service, so a cold page reads what a running program has."""
    from sqlalchemy.orm import Session

    from calibration.db import write_intent
    from calibration.services import sigma_baseline

    start = time.perf_counter()
    with write_intent(), Session(engine) as session:
        rows = sigma_baseline.record_program_estimates(session, 1, request_id="bench")
        session.commit()
    took = time.perf_counter() - start
    print(f"  pool sigma estimate recorded ({len(rows)} rubric version) in {took:.1f} s", flush=True)


def _workspace(engine: Any, args: argparse.Namespace, now: dt.datetime) -> None:
    """The rows the workspace's lists show: a flag per assessor (every other one open, a cohort
    flag per round), a key challenge per ten sheets of the latest round's first anchor, a session
    a week for the last and next ten weeks with a booking each, and audited actions."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from calibration.db import write_intent
    from calibration.models import (
        ChallengeStatus,
        DriftFlag,
        FlagRule,
        FlagStatus,
        KeyChallenge,
        RecalibrationSession,
        SessionBooking,
        SessionStatus,
    )
    from calibration.services import audit
    from calibration.services.context import Member

    n_a = args.assessors
    with engine.begin() as conn:
        flags = [
            {
                "program_id": 1,
                "user_id": 2 + i,
                "round_id": args.rounds - i % 3,
                "rule": FlagRule.OWN_DRIFT,
                "status": FlagStatus.OPEN if i % 2 else FlagStatus.DISMISSED,
                "statistic": "self-starting CUSUM",
                "summary": f"Assessor {i:03d} moved from their own level.",
                "evidence_hash": f"bench-{i}",
                "created_at": now - dt.timedelta(hours=i),
            }
            for i in range(n_a)
        ]
        flags += [
            {
                "program_id": 1,
                "user_id": None,
                "round_id": r + 1,
                "rule": FlagRule.COHORT_LEVEL,
                "status": FlagStatus.DISMISSED,
                "statistic": "cohort level",
                "summary": "The cohort moved against the key.",
                "evidence_hash": f"bench-cohort-{r}",
                "created_at": now - dt.timedelta(days=30 * (args.rounds - r)),
            }
            for r in range(args.rounds)
        ]
        conn.execute(insert(DriftFlag), flags)
        sheets = conn.execute(
            select(ScoreSheet.id, ScoreSheet.assessor_id, ScoreSheet.anchor_id, ScoreSheet.key_version_id)
            .where(ScoreSheet.round_id == args.rounds)
            .order_by(ScoreSheet.id)
        ).all()[::10]
        conn.execute(
            insert(KeyChallenge),
            [
                {
                    "program_id": 1,
                    "anchor_id": anchor,
                    "key_version_id": key_version,
                    "criterion_id": 1,
                    "sheet_id": sheet,
                    "assessor_id": user,
                    "argument": "The evidence shows more than the key says.",
                    "status": ChallengeStatus.OPEN if i % 3 == 0 else ChallengeStatus.KEY_STANDS,
                    "created_at": now - dt.timedelta(hours=i),
                }
                for i, (sheet, user, anchor, key_version) in enumerate(sheets)
            ],
        )
        ids = conn.execute(
            insert(RecalibrationSession).returning(RecalibrationSession.id, sort_by_parameter_order=True),
            [
                {
                    "program_id": 1,
                    "title": f"Recalibration session {w + 1:02d}",
                    "starts_at": now + dt.timedelta(weeks=w - 10),
                    "duration_minutes": 90,
                    "timezone": "America/Chicago",
                    "location": "Video call",
                    "trainer_id": 1,
                    "capacity": 6,
                    "status": SessionStatus.SCHEDULED,
                }
                for w in range(20)
            ],
        ).all()
        conn.execute(
            insert(SessionBooking),
            [
                {"session_id": sid, "user_id": 2 + w, "uid": f"bench-{w}@bench.test"}
                for w, (sid,) in enumerate(ids)
            ],
        )
    with write_intent(), Session(engine) as session:
        trainer = Member(1, 1)
        for i in range(args.audit_rows):
            audit.record(
                session, trainer, "bench.action", object_type="anchor", object_id=1 + i % args.anchors
            )
            if i % 1000 == 999:
                session.commit()
        session.commit()
    print(f"  {len(flags)} flags, {len(sheets)} key challenges, 20 sessions, {args.audit_rows} audit rows")


def _correct_some(engine: Any, rng: np.random.Generator, *, round_id: int, user_id: int, n: int) -> None:
    """Trainer corrections through the service, as the pages make them: spread over the latest
    round, some on the profiled assessor's sheets, so every page reads corrected levels."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from calibration.db import write_intent
    from calibration.services.context import Member
    from calibration.services.corrections import correct_score

    with write_intent(), Session(engine) as session:
        rows = session.execute(
            select(
                ScoreSheet.id, CriterionScore.criterion_id, CriterionScore.level_value, ScoreSheet.assessor_id
            )
            .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
            .where(ScoreSheet.round_id == round_id)
        ).all()
        mine = [r for r in rows if r[3] == user_id]
        picks = [rows[int(i)] for i in rng.choice(len(rows), size=n - n // 3, replace=False)]
        picks += [mine[int(i)] for i in rng.choice(len(mine), size=n // 3, replace=False)]
        done: set[tuple[int, int]] = set()
        for sheet_id, criterion_id, level, _ in picks:
            if (sheet_id, criterion_id) in done:
                continue
            done.add((sheet_id, criterion_id))
            correct_score(
                session,
                Member(1, 1),
                program_id=1,
                sheet_id=sheet_id,
                criterion_id=criterion_id,
                level_value=level + 1 if level < 4 else level - 1,
                reason="Benchmark: the assessor reported a slip.",
            )
        session.commit()
    print(f"  {len(done)} score corrections in round {round_id}", flush=True)


_APPS: dict[str, Any] = {}


def app_for(url: str) -> Any:
    if url not in _APPS:
        _APPS[url] = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
                "SESSION_IDLE_MINUTES": 24 * 60,
            }
        )
    return _APPS[url]


def clear_caches() -> None:
    profiles.clear_caches()
    control_charts.POOL_SIGMAS.clear()
    charts.clear_cache()
    audit_log.clear_chain_cache()
    score_export.clear_cache()
    # The statistics library memoises bootstrap draws per (patterns, resamples, seed); a cold page
    # must draw them again. (A private hook, used only here.)
    bootstrap._cached_resamples.cache_clear()


def trainer_pages(app: Any, round_id: int, assessor_id: int) -> dict[str, str]:
    """Every GET page of the trainer blueprint, each with ids from the bench data (a route whose
    ids the data has none of is reported and left out), plus filtered and later pages of the lists."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from calibration.models import DriftFlag, KeyChallenge, RecalibrationSession

    with Session(get_db(app).engine) as session:
        ids: dict[str, Any] = {
            "round_id": round_id,
            "user_id": assessor_id,
            "anchor_id": 1,
            "rubric_version_id": 1,
            "flag_id": session.scalar(select(DriftFlag.id).where(DriftFlag.user_id == assessor_id)),
            "challenge_id": session.scalar(select(KeyChallenge.id).order_by(KeyChallenge.id)),
            "session_id": session.scalar(
                select(RecalibrationSession.id).order_by(RecalibrationSession.id.desc())
            ),
            "sheet_id": session.scalar(
                select(ScoreSheet.id).where(
                    ScoreSheet.round_id == round_id, ScoreSheet.assessor_id == assessor_id
                )
            ),
        }
    pages: dict[str, str] = {}
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not rule.endpoint.startswith("trainer.") or "GET" not in rule.methods:
                continue
            missing = [a for a in rule.arguments if ids.get(a) is None]
            if missing:
                print(f"  (not timed: {rule.rule}, no {', '.join(missing)} in the bench data)")
                continue
            pages[rule.endpoint.removeprefix("trainer.")] = url_for(
                rule.endpoint, **{a: ids[a] for a in rule.arguments}
            )
    pages["rounds (filtered)"] = "/trainer/?kind=calibration&status=closed&q=Calibration"
    pages["people (status, page 3)"] = "/trainer/people?status=certified&page=3"
    pages["people (search)"] = "/trainer/people?q=assessor+01"
    pages["anchors (page 5)"] = "/trainer/anchors?page=5"
    pages["flags (open, drift)"] = "/trainer/flags?status=open&kind=drift&page=2"
    pages["challenges (open)"] = "/trainer/challenges?status=open"
    pages["audit log (action, page 10)"] = "/trainer/audit?action=bench.action&page=10"
    return pages


def select_pages(pages: dict[str, str], wanted: str | None) -> dict[str, str]:
    """The pages whose name contains one of the comma-separated words of ``wanted`` (all if None)."""
    if not wanted:
        return pages
    words = [w.strip() for w in wanted.split(",") if w.strip()]
    chosen = {name: url for name, url in pages.items() if any(w in name for w in words)}
    if not chosen:
        raise SystemExit(f"no page matches {wanted!r}; pages: {', '.join(pages)}")
    return chosen


def timed(client: Any, url: str, *, cold: bool, repeats: int) -> tuple[float, float]:
    """The median wall-clock and the median CPU time of this process (the app and, on SQLite, the
    database: on a shared machine the CPU time says what the request itself costs)."""
    times, cpu = [], []
    for _ in range(repeats):
        client.get("/trainer/")  # session activity stamp, if due, lands outside the timing
        if cold:
            clear_caches()
        start, start_cpu = time.perf_counter(), time.process_time()
        resp = client.get(url)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if resp.status_code != 200:
            raise SystemExit(f"{url}: HTTP {resp.status_code}")
    return statistics.median(times), statistics.median(cpu)


def profile_cold(client: Any, name: str, url: str) -> None:
    """One cold request of ``url`` under cProfile: the 20 calls with the most cumulative time."""
    import cProfile
    import pstats

    client.get("/trainer/")
    clear_caches()
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url)
    profiler.disable()
    print(f"\n--- cold {name} ({url})")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an EMPTY database (default: SQLite in a temporary file)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a private PostgreSQL server (initdb) and use a new database",
    )
    parser.add_argument("--assessors", type=int, default=300)
    parser.add_argument("--anchors", type=int, default=400)
    parser.add_argument("--criteria", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--anchors-per-round", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--corrections", type=int, default=30, help="trainer corrections in the latest round")
    parser.add_argument("--audit-rows", type=int, default=5000, help="audited actions (through the service)")
    parser.add_argument(
        "--pages",
        help="time only the pages whose name contains one of these comma-separated words "
        "(e.g. round,export; default: every page)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then profile one cold request of each page (cProfile, the 20 slowest calls by cumulative time)",
    )
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        if args.postgres:
            from tests.pg import as_owner, create_owned_database, private_postgres_server

            server = stack.enter_context(private_postgres_server(durable=True))
            create_owned_database(server.url, "calib_report_bench")
            url = as_owner(server.url, "calib_report_bench")
        print(f"database: {url.split('@')[-1] if '@' in url else url}")
        start = time.perf_counter()
        upgrade(url)
        round_id, assessor_id = build(url, args)
        app = app_for(url)
        if not get_db(app).is_sqlite:
            # As autovacuum would after a bulk load; done now so it does not run during the timings.
            with get_db(app).engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        print(f"built in {time.perf_counter() - start:.1f} s")
        # Started as the WSGI entry point starts it (templates compiled, chart library loaded, what
        # is loaded so far moved out of the garbage collector's generations): a server's process.
        warm_up(app)
        client = app.test_client()
        # CSRF stays on, as in production (some pages render their forms' tokens by hand).
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text)
        data = {"email": TRAINER, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
        resp = client.post("/login", data=data)
        if resp.status_code != 302:
            raise SystemExit(f"login failed: HTTP {resp.status_code}")
        pages = select_pages(trainer_pages(app, round_id, assessor_id), args.pages)
        for url_ in pages.values():  # imports, fonts, first connections: not part of "cold"
            client.get(url_)
        print(
            f"\n{args.assessors} assessors, {args.anchors} anchors, {args.criteria} criteria, {args.rounds} rounds "
            f"of {args.anchors_per_round} anchors; median of {args.repeats}\n"
        )
        print(
            f"{'page':<48}{'cold':>10}{'warm':>10}   {'cpu: cold':>10}{'warm':>8}"
            "   targets: cold < 500 ms, warm < 100 ms"
        )
        for name, page in pages.items():
            cold, cold_cpu = timed(client, page, cold=True, repeats=args.repeats)
            warm, warm_cpu = timed(client, page, cold=False, repeats=args.repeats)
            ok = cold < 0.5 and warm < 0.1
            print(
                f"{name:<48}{cold * 1000:>8.0f}ms{warm * 1000:>8.0f}ms   {cold_cpu * 1000:>8.0f}ms"
                f"{warm_cpu * 1000:>6.0f}ms   {'PASS' if ok else 'FAIL'}"
            )
        if args.profile:
            for name, page in pages.items():
                profile_cold(client, name, page)
        get_db(app).dispose()


if __name__ == "__main__":
    main()
