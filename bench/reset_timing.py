"""Reply time of "forgot password" for an address with an account against one without (issue 13,
item 8): the median of each over 50 samples and their ratio, on SQLite and on PostgreSQL (a private
server started with initdb, as the test suite does). Target: the ratio within 1 ± 0.15.

Run: ``.venv/bin/python bench/reset_timing.py`` (``--samples N``, ``--db sqlite|postgresql|both``).
Not a test: it prints one line per database. Requests go through the Flask test client (no network),
in the order known, unknown, unknown, known, …; the job each reply enqueued (looking the address up,
mailing the link, to the log backend) is run between samples, outside the timed part, as a worker
would run it (the app hands jobs to the real queue, in a file of its own).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402 (after the path set-up)
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from calibration import create_app  # noqa: E402
from calibration.db import get_db  # noqa: E402
from calibration.db.migrate import upgrade  # noqa: E402
from calibration.models import User  # noqa: E402
from calibration.notify.queue import get_queue, run_due_jobs  # noqa: E402
from calibration.services.auth import hash_password  # noqa: E402
from tests.conftest import csrf_token  # noqa: E402
from tests.pg import private_postgres_server  # noqa: E402

KNOWN = "known.person@bench.test"
UNKNOWN = "nobody@bench.test"
TARGET = 0.15


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="calib-reset-") as folder:
            yield f"sqlite:///{Path(folder) / 'reset.sqlite3'}"
        return
    with private_postgres_server(durable=True) as server:
        admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE calib_reset"))
        admin.dispose()
        yield make_url(server.url).set(database="calib_reset").render_as_string(hide_password=False)


def measure(database_url: str, samples: int, folder: Path) -> tuple[float, float]:
    upgrade(database_url)
    engine = create_engine(database_url)
    with Session(engine) as s:
        s.add(User(email=KNOWN, name="Known Person", password_hash=hash_password("a long bench passphrase")))
        s.commit()
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-secret-key-with-enough-length-0123456789",
            "RUBRIC_DIR": str(ROOT / "rubrics"),
            "MAIL_BACKEND": "log",
            "PASSWORD_RESETS_PER_HOUR": 10_000,  # every known request issues and mails a link
            "JOBS_QUEUE_FILE": str(folder / "queue.sqlite3"),
        }
    )
    client = app.test_client()
    token = csrf_token(client, "/password/forgot")
    times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    for i in range(10 + 2 * samples):  # the first 10 warm up caches and connections
        # Known-unknown, then unknown-known: each kind follows each kind equally often.
        address = KNOWN if (i % 2 == 0) == ((i // 2) % 2 == 0) else UNKNOWN
        start = time.perf_counter()
        resp = client.post("/password/forgot", data={"email": address, "csrf_token": token})
        elapsed = time.perf_counter() - start
        assert resp.status_code == 200, resp.status_code
        run_due_jobs(app)  # the work after the reply, outside the timed part
        if i >= 10:
            times[address].append(elapsed)
    get_queue(app).stop()
    get_db(app).dispose()
    return statistics.median(times[KNOWN]) * 1000, statistics.median(times[UNKNOWN]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    ok = True
    for kind in kinds:
        with database(kind) as url, tempfile.TemporaryDirectory(prefix="calib-queue-") as folder:
            known, unknown = measure(url, args.samples, Path(folder))
        ratio = known / unknown
        within = abs(ratio - 1) <= TARGET
        ok &= within
        print(
            f"{kind:10s} median reply: known {known:6.2f} ms, unknown {unknown:6.2f} ms, "
            f"ratio {ratio:.3f} ({'within' if within else 'OUTSIDE'} ±{TARGET:.0%}; {args.samples} samples each)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
