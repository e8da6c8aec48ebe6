"""Every list page of the trainer reads with the same number of queries for 10 and for 300
assessors (and the rounds, anchors, flags, challenges and sessions that come with them), with and
without filters, on the first page and a later one (issue 17)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from calibration.models import Membership, Role
from calibration.services import audit_log

from ..factories_lists import fill_program
from .test_query_counts import counting

LISTS = [
    "/trainer/",
    "/trainer/?status=open&kind=calibration&q=round",
    "/trainer/people",
    "/trainer/people?status=certified&q=bulk&from=2020-01-01",
    "/trainer/anchors",
    "/trainer/anchors?status=active&kind=calibration",
    "/trainer/flags",
    "/trainer/flags?status=open&kind=drift",
    "/trainer/challenges",
    "/trainer/challenges?status=open&q=bulk",
    "/trainer/sessions",
    "/trainer/sessions?status=scheduled",
    "/trainer/overview",
    "/trainer/audit",
    "/trainer/audit?action=login&actor=trainer",
]


def _counts(app: Any, client: Any) -> dict[str, int]:
    out = {}
    client.get("/trainer/overview")  # the once-a-minute activity stamp and the caches land here
    audit_log.clear_chain_cache()  # the audit page's first view checks the chain; later ones reuse it
    for url in LISTS:
        for page in ("", "page=2"):
            full = url + (("&" if "?" in url else "?") + page if page else "")
            with counting(app) as statements:
                resp = client.get(full)
            assert resp.status_code == 200, full
            out[full] = len(statements)
    return out


def test_every_list_page_uses_as_many_queries_for_300_assessors_as_for_10(app, client, login, world, db):
    fill_program(db, world, 10, tag="Small")
    login(world.emails["trainer"])
    small = _counts(app, client)
    fill_program(db, world, 290, tag="Large")  # the same program grown to 300 assessors
    n = db.scalar(
        select(func.count()).where(Membership.program_id == world.program_a, Membership.role == Role.ASSESSOR)
    )
    assert n == 302  # with the world's own two
    large = _counts(app, client)
    assert small == large
    page = client.get("/trainer/people?page=2").get_data(as_text=True)
    assert "Showing 51–100 of 302 assessors." in page


def test_flag_page_and_exports_use_as_many_queries_for_300_assessors_as_for_10(app, client, login, world, db):
    """The pages issue 17's speed work changed beyond the lists: an assessor's flag page (its control
    charts key the pool's sigma on the trigger-kept score counts), and the audit log and overview
    exports, warm."""
    login(world.emails["trainer"])

    def counts(filled: Any) -> dict[str, int]:
        flag = filled.flags[1]  # an assessor's own-drift flag (every tenth is a cohort flag)
        urls = [f"/trainer/flags/{flag}", "/trainer/audit/export.csv", "/trainer/overview/export.csv"]
        out = {}
        for url in urls:
            assert client.get(url).status_code == 200, url  # caches filled
            with counting(app) as statements:
                assert client.get(url).status_code == 200, url
            out[url.replace(str(flag), "<flag>")] = len(statements)
        return out

    small = counts(fill_program(db, world, 10, tag="Small"))
    large = counts(fill_program(db, world, 290, tag="Large"))
    assert small == large
