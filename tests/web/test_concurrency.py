"""20 identical concurrent submissions through a real multi-process server store exactly one sheet."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from calibration.models import CriterionScore, ScoreSheet

from ..factories import score_form
from ..server import gunicorn

pytestmark = pytest.mark.slow


def test_twenty_concurrent_identical_submissions_store_one_sheet(world, db, database_url):
    with gunicorn(database_url, workers=4) as base:
        web = requests.Session()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', web.get(base + "/login").text).group(1)
        resp = web.post(
            base + "/login",
            data={"email": world.emails["assessor"], "password": "pw-for-tests", "csrf_token": token},
            allow_redirects=False,
        )
        assert resp.status_code == 302
        url = f"{base}/rounds/{world.round_id}/anchors/{world.anchors[0]}"
        page = web.get(url).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = {**score_form(world, world.keys[world.anchors[0]]), "csrf_token": token}
        cookies = web.cookies.get_dict()

        def submit(_: int) -> int:
            return requests.post(
                url, data=data, cookies=cookies, allow_redirects=False, timeout=60
            ).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(submit, range(20)))
    assert all(s in (200, 302) for s in statuses), statuses
    assert statuses.count(302) >= 1
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 1
    assert db.scalar(select(func.count()).select_from(CriterionScore)) == len(world.criteria)
