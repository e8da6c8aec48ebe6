"""Requests and bytes to score a whole round, from the dashboard to the last feedback page.

A benchmark, not a test (nothing is timed). It builds a fresh SQLite database with a round of
``--anchors`` anchors (20 by default) and one assessor, then walks the round through the app
in-process (Flask's test client) the way a browser would, counting every request and the bytes
sent and received (bodies and headers). Static files (CSS, the score page's script) are counted
once, as a browser caches them. Draft autosaves are not counted (the issue's rule).

Flows:
  before   the old way: round page, score page, submit, feedback, back to the round (per anchor)
  no-js    without JavaScript: score page, review step, submit, feedback, "Next anchor"
  js       with JavaScript: score page, submit (the review is shown in the page), feedback, "Next anchor"

Run::

    .venv/bin/python bench/round_flow.py                      # this tree: no-js and js (and before)
    .venv/bin/python bench/round_flow.py --before-tree ../main   # "before" measured on an older tree

With ``--before-tree`` the "before" flow runs in a child process on that tree's code (its own
pages); without it, the old way is walked on this tree's pages.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_ASSETS = re.compile(r'(?:href|src)="(/static/[^"]+)"')


@dataclass
class Tally:
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    assets: set[str] = field(default_factory=set)

    def count(self, method: str, path: str, body: bytes, resp: Any) -> None:
        self.requests += 1
        self.bytes_out += len(method) + len(path) + 12 + len(body)
        self.bytes_in += len(resp.get_data()) + sum(len(k) + len(v) + 4 for k, v in resp.headers.items())


class Browser:
    """The test client, counting each request, following redirects as one more request each, and
    fetching each static asset a page names once (cached after)."""

    def __init__(self, client: Any, tally: Tally, *, scripts: bool) -> None:
        self.client, self.tally, self.scripts = client, tally, scripts

    def _assets(self, html: str) -> None:
        for asset in _ASSETS.findall(html):
            if asset.endswith(".js") and not self.scripts:
                continue
            if "print.css" in asset or asset in self.tally.assets:
                continue
            self.tally.assets.add(asset)
            path = asset
            resp = self.client.get(path)
            self.tally.count("GET", path, b"", resp)

    def get(self, path: str) -> tuple[str, str]:
        resp = self.client.get(path)
        self.tally.count("GET", path, b"", resp)
        while resp.status_code in (301, 302, 303):
            path = resp.headers["Location"].removeprefix("http://localhost")
            resp = self.client.get(path)
            self.tally.count("GET", path, b"", resp)
        html = resp.get_data(as_text=True)
        self._assets(html)
        return path, html

    def post(self, path: str, data: dict[str, str]) -> tuple[str, str]:
        from urllib.parse import urlencode

        resp = self.client.post(path, data=data)
        self.tally.count("POST", path, urlencode(data).encode(), resp)
        if resp.status_code in (301, 302, 303):
            return self.get(resp.headers["Location"].removeprefix("http://localhost"))
        assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:300])
        html = resp.get_data(as_text=True)
        self._assets(html)
        return path, html


def _levels(html: str, criteria: list[int], keys: list[int]) -> dict[str, str]:
    return {f"criterion_{c}": str(v) for c, v in zip(criteria, keys, strict=True)}


def walk(flow: str, anchors: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT if flow != "before-tree" else Path(os.environ["BEFORE_TREE"])))
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from calibration import create_app
    from calibration.db import get_db
    from calibration.db.migrate import upgrade
    from calibration.models import Role
    from tests.factories import PASSWORD, make_anchor, make_program, make_round, make_rubric, make_user

    with tempfile.TemporaryDirectory(prefix="calib-flow-") as folder:
        url = f"sqlite:///{Path(folder) / 'flow.sqlite3'}"
        upgrade(url)
        engine = create_engine(url)
        with Session(engine) as s:
            program = make_program(s, "flow")
            rubric = make_rubric(s, program)
            values = rubric.level_values
            n = len(rubric.criteria)
            made = [
                make_anchor(s, program, rubric, title=f"Anchor {i + 1}",
                            key_levels=[values[(i + j) % len(values)] for j in range(n)])
                for i in range(anchors)
            ]  # fmt: skip
            user = make_user(s, program, "flow@bench.test", Role.ASSESSOR)
            rnd = make_round(s, program, rubric, made, [user], name="Flow round")
            s.commit()
            round_id, anchor_ids, criteria = rnd.id, [a.id for a in made], [c.id for c in rubric.criteria]
            keys = {a.id: [values[(i + j) % len(values)] for j in range(n)] for i, a in enumerate(made)}
        engine.dispose()
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789-0123456789abc",
                          "RUBRIC_DIR": str(ROOT / "rubrics")})  # fmt: skip
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        token = _TOKEN.search(login).group(1)
        client.post("/login", data={"email": "flow@bench.test", "password": PASSWORD, "csrf_token": token})
        tally = Tally()
        b = Browser(client, tally, scripts=flow == "js")
        _, html = b.get("/dashboard")
        start = tally.requests
        if flow in ("before", "before-tree"):
            for anchor_id in anchor_ids:
                _, html = b.get(f"/rounds/{round_id}")
                path, html = b.get(f"/rounds/{round_id}/anchors/{anchor_id}")
                data = {
                    **_levels(html, criteria, keys[anchor_id]),
                    "notes": "",
                    "csrf_token": _TOKEN.search(html).group(1),
                }
                _, html = b.post(path, data)
                assert "Feedback" in html
            b.get(f"/rounds/{round_id}")
        else:
            _, html = b.get(f"/rounds/{round_id}")
            path, html = b.get(f"/rounds/{round_id}/anchors/{anchor_ids[0]}")
            for index, anchor_id in enumerate(anchor_ids):
                assert path.endswith(f"/anchors/{anchor_id}"), path
                data = {
                    **_levels(html, criteria, keys[anchor_id]),
                    "notes": "",
                    "csrf_token": _TOKEN.search(html).group(1),
                }
                if flow == "no-js":
                    _, review = b.post(path, {**data, "action": "review"})
                    assert "final, cannot be changed" in review
                    data["csrf_token"] = _TOKEN.search(review).group(1)
                _, html = b.post(path, {**data, "action": "submit"})
                assert "Feedback" in html
                following = re.search(r'id="next-anchor-top" href="([^"]+)"', html)
                if index < len(anchor_ids) - 1:
                    assert following and following.group(1).endswith(f"/anchors/{anchor_ids[index + 1]}")
                    path, html = b.get(following.group(1))
        get_db(app).dispose()
    return {"flow": flow, "anchors": anchors, "requests": tally.requests, "start": start, "bytes_in": tally.bytes_in,
            "bytes_out": tally.bytes_out, "static": sorted(tally.assets)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--anchors", type=int, default=20)
    parser.add_argument("--before-tree", help="an older checkout whose pages are the 'before'")
    parser.add_argument("--flow", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.anchors <= 200:
        parser.error("bounded: 1-200 anchors")
    if args.flow:
        print(json.dumps(walk(args.flow, args.anchors)))
        return 0
    rows = []
    if args.before_tree:
        env = {**os.environ, "BEFORE_TREE": str(Path(args.before_tree).resolve()),
               "PYTHONPATH": str(Path(args.before_tree).resolve())}  # fmt: skip
        out = subprocess.run(
            [sys.executable, __file__, "--flow", "before-tree", "--anchors", str(args.anchors)],
            env=env, check=True, capture_output=True, text=True, cwd=args.before_tree,
        )  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    else:
        rows.append(walk("before", args.anchors))
    for flow in ("no-js", "js"):
        out = subprocess.run(
            [sys.executable, __file__, "--flow", flow, "--anchors", str(args.anchors)],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"Scoring a round of {args.anchors} anchors, dashboard to the last feedback (draft saves not counted):"
    )
    print(
        "(per anchor: the requests after the dashboard, over the anchors; all: everything, over the anchors)"
    )
    print(f"{'flow':<12}{'requests':>10}{'per anchor':>12}{'all':>8}{'KiB received':>14}{'KiB sent':>10}")
    for r in rows:
        after = (r["requests"] - r["start"]) / r["anchors"]
        print(f"{r['flow']:<12}{r['requests']:>10}{after:>12.2f}{r['requests'] / r['anchors']:>8.2f}"
              f"{r['bytes_in'] / 1024:>14.1f}{r['bytes_out'] / 1024:>10.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
