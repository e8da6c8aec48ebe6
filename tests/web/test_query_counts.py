"""Report pages read with a constant number of queries, whatever the size of the cohort."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from calibration.db import get_db
from calibration.services import control_charts, profiles, score_export
from calibration.web import charts

from ..factories_reports import add_assessors, assign, insert_sheets, noisy_scores
from .test_reports import past_round


@contextmanager
def counting(app: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = get_db(app).engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def page_queries(app: Any, client: Any, url: str, *, cold: bool) -> int:
    # A cheap page first: the once-a-minute session activity stamp (an extra write) lands there.
    client.get("/trainer/")
    if cold:
        profiles.clear_caches()
        control_charts.POOL_SIGMAS.clear()
        charts.clear_cache()
    with counting(app) as statements:
        resp = client.get(url)
    assert resp.status_code == 200, url
    return len(statements)


def test_report_pages_use_the_same_number_of_queries_for_10_and_200_assessors(app, client, login, world, db):
    small = add_assessors(db, world.program_a, 10, prefix="Small")
    large = add_assessors(db, world.program_a, 200, prefix="Large")
    assign(db, world.round_id, small)
    small_round = world.round_id
    large_round = past_round(db, world, large, name="Large round")
    insert_sheets(db, small_round, noisy_scores(world, small, seed=1))
    insert_sheets(db, large_round, noisy_scores(world, large, seed=2))
    login(world.emails["trainer"])

    def counts(round_id: int, user_id: int) -> dict[str, int]:
        urls = {
            "round": f"/trainer/rounds/{round_id}",
            "round_current_key": f"/trainer/rounds/{round_id}?key=current",
            "print": f"/trainer/rounds/{round_id}/print",
            "profile": f"/trainer/assessors/{user_id}",
        }
        out = {}
        for name, url in urls.items():
            out[f"{name} cold"] = page_queries(app, client, url, cold=True)
            out[f"{name} warm"] = page_queries(app, client, url, cold=False)
        return out

    small_counts = counts(small_round, small[0])
    large_counts = counts(large_round, large[0])
    assert small_counts == large_counts
    # A warm page skips the score read; a cold one reads the scores once.
    assert small_counts["round warm"] < small_counts["round cold"]

    overview_before = page_queries(app, client, "/trainer/overview", cold=True)
    more = add_assessors(db, world.program_a, 190, prefix="More")
    assign(db, small_round, more)
    insert_sheets(db, small_round, noisy_scores(world, more, seed=3))
    assert page_queries(app, client, "/trainer/overview", cold=True) == overview_before
    assert page_queries(app, client, "/trainer/overview", cold=False) < overview_before


def test_round_exports_use_the_same_number_of_queries_for_10_and_200_assessors(app, client, login, world, db):
    """The score table export reads in narrow queries, a fixed number of them, cold and kept (warm)."""
    small = add_assessors(db, world.program_a, 10, prefix="Small")
    large = add_assessors(db, world.program_a, 200, prefix="Large")
    assign(db, world.round_id, small)
    small_round = world.round_id
    large_round = past_round(db, world, large, name="Large round")
    insert_sheets(db, small_round, noisy_scores(world, small, seed=1))
    insert_sheets(db, large_round, noisy_scores(world, large, seed=2))
    login(world.emails["trainer"])

    def counts(round_id: int) -> dict[str, int]:
        base = f"/trainer/rounds/{round_id}/export.csv"
        urls = {
            "scores": base,
            "scores current key": f"{base}?key=current",
            "accuracy": f"{base}?table=accuracy",
        }
        out = {}
        for name, url in urls.items():
            score_export.clear_cache()
            out[f"{name} cold"] = page_queries(app, client, url, cold=True)
            out[f"{name} warm"] = page_queries(app, client, url, cold=False)
        return out

    small_counts = counts(small_round)
    large_counts = counts(large_round)
    assert small_counts == large_counts
    # A kept score table skips reading the scores.
    assert small_counts["scores warm"] < small_counts["scores cold"]
