"""Benchmark: the first request after a start, against a warm one, for every trainer page.

Run: ``.venv/bin/python bench/first_request.py`` (the demo on SQLite in a temporary folder). For each page
a process serves it once (as before a restart), then a fresh Python process creates and warms up the
app as ``wsgi.py`` does (timed as "start"), then requests the page once (the *first* request), five more times (*warm*: the median), and once more after emptying the in-process report and
chart caches (*cold*: what a first request would cost if nothing but the caches were empty). Prints the
times and the ratio first / warm; issue 17's target is first within 3x of warm.

The login happens in a separate process beforehand, so the timed first request is really the first
request of its process.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAINER = "trainer@demo.test"
ASSESSOR = "maya@demo.test"


def _env(db: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db, "MAIL_BACKEND": "log", "SESSION_IDLE_MINUTES": "1440"}


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def _login_and_pages(email: str) -> tuple[str, list[str]]:
    """Log in (outside any timed process) and list the pages to time for this user."""
    from sqlalchemy import select

    from calibration import create_app
    from calibration.db import get_session
    from calibration.models import Round, RoundKind, User
    from calibration.services.demo import DEMO_PASSWORD

    app = create_app()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1) if token else ""}
    resp = client.post("/login", data=data)
    if resp.status_code not in (302, 303):
        raise SystemExit(f"login as {email} failed: HTTP {resp.status_code}")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    with app.app_context():
        db = get_session()
        if email == TRAINER:
            round_id = db.scalars(
                select(Round.id).where(Round.kind == RoundKind.CALIBRATION).order_by(Round.id.desc())
            ).first()
            maya = db.scalars(select(User.id).where(User.email == ASSESSOR)).one()
            pages = [
                "/trainer/",
                "/trainer/overview",
                f"/trainer/rounds/{round_id}",
                f"/trainer/assessors/{maya}",
                "/trainer/flags",
                "/trainer/people",
                "/trainer/anchors",
            ]
        else:
            pages = ["/dashboard", "/progress", "/certification"]
    return cookie.value, pages


PRIME = r"""
import sys
from calibration import create_app
app = create_app()
client = app.test_client()
client.set_cookie(app.config["SESSION_COOKIE_NAME"], sys.argv[2])
assert client.get(sys.argv[1]).status_code == 200
"""

CHILD = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
from calibration import create_app
from calibration.web.warmup import warm_up
app = create_app()
warm_up(app)  # what wsgi.py does before a server takes requests
started = time.perf_counter() - t0
client = app.test_client()
client.set_cookie(app.config["SESSION_COOKIE_NAME"], sys.argv[2])
url = sys.argv[1]

def get():
    t = time.perf_counter()
    resp = client.get(url)
    if resp.status_code != 200:
        raise SystemExit(f"{url}: HTTP {resp.status_code}")
    return time.perf_counter() - t

first = get()
warm = statistics.median(get() for _ in range(5))
from calibration.services import profiles
from calibration.services.report_cache import ROUND_REPORTS
from calibration.web import charts
profiles.clear_caches(); charts.clear_cache(); ROUND_REPORTS.clear()
cold = get()
print(json.dumps({"start": started, "first": first, "warm": warm, "cold": cold}))
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/demo.sqlite3"
        env = _env(db)
        _flask(env, "migrate")
        _flask(env, "seed-demo")
        os.environ.update(env)
        rows = []
        for email in (TRAINER, ASSESSOR):
            cookie, pages = _login_and_pages(email)
            for url in pages:
                # A process that served the page before the restart (what a restart finds on disk).
                subprocess.run(
                    [sys.executable, "-c", PRIME, url, cookie],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    capture_output=True,
                )
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, url, cookie], cwd=ROOT, env=env, check=True, capture_output=True,
                    text=True,
                )  # fmt: skip
                rows.append((url, json.loads(out.stdout.strip().splitlines()[-1])))
    print(f"{'page':<34} {'start':>8} {'first':>8} {'warm':>8} {'cold':>8} {'first/warm':>11}")
    ratios = []
    for url, r in rows:
        ratio = r["first"] / r["warm"]
        ratios.append(ratio)
        print(
            f"{url:<34} {r['start'] * 1e3:7.0f}ms {r['first'] * 1e3:7.1f}ms {r['warm'] * 1e3:7.1f}ms"
            f" {r['cold'] * 1e3:7.1f}ms {ratio:10.1f}x"
        )
    worst = max(ratios)
    print(f"\nfirst request / warm: median {statistics.median(ratios):.1f}x, worst {worst:.1f}x (target <= 3x) "
          f"{'PASS' if worst <= 3 else 'FAIL'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    t = time.perf_counter()
    code = main()
    print(f"total {time.perf_counter() - t:.0f} s")
    raise SystemExit(code)
