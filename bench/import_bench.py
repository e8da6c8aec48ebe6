"""Operational ratings import: rows stored per second and peak memory, on SQLite and PostgreSQL.

Not a test. Generates a CSV file of ``--rows`` operational ratings (streamed to a temporary file:
double-read submissions over every criterion of a rubric, 20 assessors, times spread over about
three months for a million rows), then imports it the way the app does (a copy under the import
folder, every row checked, then stored in chunks) into a fresh, migrated database, and prints:

- rows per second stored (rows / the whole ``process_import``: check pass and store pass),
- the check and store passes apart,
- peak memory of the import's process (``ru_maxrss``) and how much of it the import added,
- the operational report's cold time and peak memory, when ``calibration.services.operational_report``
  exists, built in a process of its own on the imported database.

Targets (issue 18): at least 50,000 rows/s, peak memory under 300 MB, report under 2 s.

The report runs in a process of its own because that is how the service runs the two: imports in
a job worker, the report in a web process. One process doing both would count a combination that
never runs (the import's freed memory, kept by the allocator and the writer threads' arenas, under
the report's), and its "cold" report would follow the import's warm caches. Each figure is a
process's high-water mark (``VmHWM``), so each peak is what that process needed.

Where the time goes on PostgreSQL: the rows are checked once (the import process, one core, about
4 s of CPU per million rows, with the cyclic garbage collector paused), then stored in 50,000-row
chunks, two at once on two connections. A chunk none of whose keys the check found stored is one
``COPY`` straight into the table; any other is a ``COPY`` into a temporary table and one ``INSERT
... SELECT ... ON CONFLICT DO NOTHING``. On the server each row costs its inserts into four indexes
and three foreign-key checks (the import with its program and rubric version as one composite key,
the criterion, the assessor): about 19 s of server CPU per million rows, the bulk of an import's
work, spread over the two cores.

    .venv/bin/python bench/import_bench.py                       # 1,000,000 rows, both databases
    .venv/bin/python bench/import_bench.py --db sqlite --rows 200000
    .venv/bin/python bench/import_bench.py --db postgresql --database-url postgresql://...  # migrated

On PostgreSQL a private server is started (``initdb``/``pg_ctl``, as the tests do, with durable
settings) unless ``--database-url`` names a migrated database. Each database runs in its own
process, so each peak memory figure is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402 (after the path set-up)

from calibration.db import Database, write_intent  # noqa: E402
from calibration.db.migrate import upgrade  # noqa: E402
from calibration.models import (  # noqa: E402
    Criterion,
    ImportSource,
    Membership,
    OperationalRating,
    Program,
    Role,
    User,
)
from calibration.rubrics import load_rubric_file  # noqa: E402
from calibration.services import operational_import  # noqa: E402
from calibration.services.context import SystemActor  # noqa: E402
from calibration.services.operational_csv import spool  # noqa: E402
from calibration.services.rubrics import import_rubric  # noqa: E402

ASSESSORS = 20
START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _status_mb(field: str) -> float | None:
    """A memory figure of this process from ``/proc/self/status`` (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def rss_mb() -> float | None:
    """Memory in use now (resident set, Linux), unlike ``ru_maxrss`` the highest so far."""
    return _status_mb("VmRSS")


def high_water_mb() -> float | None:
    """This process's highest resident set (Linux ``VmHWM``); unlike ``ru_maxrss`` it starts anew
    in a process started from this one (``ru_maxrss`` keeps the parent's across ``exec``)."""
    return _status_mb("VmHWM")


def report_alone(url: str, program_id: int, rubric_version_id: int) -> dict[str, float] | None:
    """The operational report's first build in a process of its own, as a web process builds it:
    seconds, and that process's memory at start, once the report's modules are imported, and at
    its peak (MB). None when this build has no report."""
    command = [sys.executable, __file__, "--report-only", url, str(program_id), str(rubric_version_id)]
    done = subprocess.run(
        command, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True
    )
    out: dict[str, float] | None = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def report_only(url: str, program_id: int, rubric_version_id: int) -> None:
    """``--report-only``: build the report once and print its figures as one line of JSON."""
    start = rss_mb()
    build = report_builder()
    if build is None:
        print("null")
        return
    with_modules = rss_mb()
    db = Database(url)
    cold = report_cold_time(build, db, program_id, rubric_version_id)
    peak = high_water_mb()
    db.dispose()
    print(json.dumps({"cold": cold, "start": start, "modules": with_modules, "peak": peak}))


def cpu_seconds() -> float:
    """CPU time of this process (all its threads), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_seconds(postmaster: int | None) -> float | None:
    """CPU time of a private PostgreSQL server: the postmaster, its live children, and the children
    it has reaped (a closed connection's backend). None when the server is not ours or unreadable."""
    if postmaster is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            pid, ppid = int(entry), int(fields[1])
            if pid == postmaster:
                total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
            elif ppid == postmaster:
                total += int(fields[11]) + int(fields[12])
    except OSError:
        return None
    return total / tick


@contextlib.contextmanager
def database(kind: str, url: str | None) -> Iterator[tuple[str, int | None]]:
    """A migrated, empty database; on PostgreSQL the app role's URL, as the README runs it, and
    the private server's postmaster process id (None for SQLite or a given database)."""
    if url:
        yield url, None
        return
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="calib-import-bench-") as folder:
            path = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            upgrade(path)
            yield path, None
        return
    from tests.pg import create_split_database, private_postgres_server

    with private_postgres_server(durable=True, max_connections=50) as server:
        _owner, app_url = create_split_database(server.url, "calib_import_bench")
        pid_file = Path(server._data) / "postmaster.pid"  # the bench started this server
        yield app_url, int(pid_file.read_text().split()[0])


def generate(path: Path, rows: int, criteria: list[str], emails: list[str]) -> None:
    """Write ``rows`` ratings: each submission read twice on every criterion (streamed)."""
    per_submission = 2 * len(criteria)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("submission_id,criterion,assessor,level,read,scored_at\n")
        written = 0
        submission = 0
        while written < rows:
            at = (START + dt.timedelta(minutes=3 * submission)).isoformat().replace("+00:00", "Z")
            first, second = emails[submission % len(emails)], emails[(submission + 7) % len(emails)]
            lines = []
            for c, key in enumerate(criteria):
                level = 1 + (submission * 3 + c) % 4
                other = level if (submission + c) % 3 else 1 + level % 4
                lines.append(f"LIVE-{submission:08d},{key},{first},{level},1,{at}\n")
                lines.append(f"LIVE-{submission:08d},{key},{second},{other},2,{at}\n")
            take = min(per_submission, rows - written)
            out.writelines(lines[:take])
            written += take
            submission += 1


def report_builder() -> Any:
    """The operational report's entry point, if that report exists here (importing it loads the
    statistics stack: numpy, scipy.stats, statsmodels)."""
    try:
        report = importlib.import_module("calibration.services.operational_report")
    except ModuleNotFoundError:
        return None
    return getattr(report, "operational_report", None)


def report_cold_time(build: Any, db: Database, program_id: int, rubric_version_id: int) -> float | None:
    """Seconds for the operational report's first computation (``build``: :func:`report_builder`)."""
    if build is None:
        return None
    with db.sessionmaker() as session:
        started = time.perf_counter()
        build(
            session,
            program_id=program_id,
            rubric_version_id=rubric_version_id,
            start=START.date(),
            end=(START + dt.timedelta(days=365)).date(),
        )
        return time.perf_counter() - started


def setup(db: Database) -> tuple[int, int, list[str], list[str]]:
    """A program with one rubric version and :data:`ASSESSORS` readers (no passwords: never used).

    Made with the models and the rubric service only (not the test factories, which load the
    whole statistics stack), so the peak memory is the import's and what it needs."""
    with write_intent(), db.sessionmaker() as session:
        program = Program(slug="bench", name="Bench", settings_json="{}")
        session.add(program)
        session.flush()
        outcome = import_rubric(
            session,
            SystemActor(program.id),
            program.id,
            load_rubric_file(ROOT / "rubrics" / "analyzing-time.yaml"),
        )
        emails = [f"reader{i}@bench.test" for i in range(ASSESSORS)]
        for email in emails:
            user = User(email=email, name=email.split("@")[0], password_hash=None)
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id, program_id=program.id, role=Role.ASSESSOR))
        criteria = list(
            session.scalars(
                select(Criterion.key)
                .where(Criterion.rubric_version_id == outcome.rubric_version_id)
                .order_by(Criterion.position)
            )
        )
        session.commit()
        return program.id, outcome.rubric_version_id, criteria, emails


def run_one(kind: str, rows: int, chunk: int, url: str | None) -> None:

    baseline = maxrss_mb()
    with (
        database(kind, url) as (db_url, postmaster),
        tempfile.TemporaryDirectory(prefix="calib-import-") as folder,
    ):
        db = Database(db_url)
        chunk = chunk or operational_import.default_chunk(db.engine.dialect.name)
        program_id, version_id, criteria, emails = setup(db)
        source = Path(folder) / "ratings.csv"
        started = time.perf_counter()
        generate(source, rows, criteria, emails)
        generated = time.perf_counter() - started
        size_mb = source.stat().st_size / 1e6
        with open(source, "rb") as stream:
            spooled = spool(stream, str(Path(folder) / "imports"))
        with write_intent(), db.sessionmaker() as session:
            imp = operational_import.create_import(
                session, SystemActor(program_id), rubric_version_id=version_id, source=ImportSource.CLI,
                filename=source.name, upload_path=spooled.path, content_sha256=spooled.sha256,
            )  # fmt: skip
            session.commit()
            import_id = imp.id
        before = maxrss_mb()
        store_started: list[float] = []
        load_before = os.getloadavg()[0]
        cpu_before, server_before = cpu_seconds(), server_cpu_seconds(postmaster)
        started = time.perf_counter()
        summary = operational_import.process_import(
            db.sessionmaker,
            import_id,
            chunk_size=chunk,
            after_chunk=lambda _n: store_started.append(time.perf_counter()) if not store_started else None,
        )
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        server_after = server_cpu_seconds(postmaster)
        server_cpu = None if server_before is None or server_after is None else server_after - server_before
        load_after = os.getloadavg()[0]
        import_peak = maxrss_mb()
        with db.sessionmaker() as session:
            stored = session.scalar(select(func.count()).select_from(OperationalRating))
        db.dispose()
        report = report_alone(db_url, program_id, version_id)
    first_chunk = (store_started[0] - started) if store_started else elapsed
    print(
        f"{kind}: {rows:,} rows ({size_mb:.0f} MB CSV, generated in {generated:.1f} s), chunks of {chunk:,}"
    )
    print(f"  status {summary.status}, stored {summary.rows_stored:,} (rows in the table: {stored:,})")
    print(
        f"  import: {elapsed:.1f} s = {summary.rows_stored / elapsed:,.0f} rows/s stored (target >= 50,000)"
    )
    print(f"    check pass + first chunk: {first_chunk:.1f} s; store pass: {elapsed - first_chunk:.1f} s")
    server = "" if server_cpu is None else f", database server {server_cpu:.1f} s"
    print(
        f"    CPU: this process {cpu:.1f} s ({rows / cpu:,.0f} rows per CPU second){server}; "
        f"load average {load_before:.1f} -> {load_after:.1f} (2 cores)"
    )
    print(
        f"  peak memory of the import's process: {import_peak:.0f} MB (target < 300 MB); at start "
        f"{baseline:.0f} MB, before the import {before:.0f} MB"
    )
    if summary.error_count:
        print(f"  errors: {summary.error_count} (the generated file should have none)")
    if report is None:
        print("  operational report: not in this build (calibration.services.operational_report)")
    else:
        print(
            f"  operational report, in a process of its own: cold {report['cold']:.2f} s (target < 2 s); "
            f"peak memory {report['peak']:.0f} MB (target < 300 MB): {report['start']:.0f} MB at start, "
            f"{report['modules']:.0f} MB once its modules are imported"
        )


def main() -> int:
    if sys.argv[1:2] == ["--report-only"]:  # the report's own process (see report_alone)
        url, program_id, version_id = sys.argv[2:5]
        report_only(url, int(program_id), int(version_id))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=0, help="rows per chunk (default: the app's)")
    parser.add_argument("--database-url", help="a migrated database to use instead of a fresh one")
    args = parser.parse_args()
    if args.db == "both":  # each in its own process: its own peak memory
        code = 0
        for kind in ("sqlite", "postgresql"):
            command = [
                sys.executable,
                __file__,
                "--db",
                kind,
                "--rows",
                str(args.rows),
                "--chunk",
                str(args.chunk),
            ]
            code |= subprocess.call(command, env={**os.environ, "PYTHONPATH": str(ROOT)})
        return code
    run_one(args.db, args.rows, args.chunk, args.database_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
