"""Reports and charts outlive the process (issue 17, item 11): a restarted process, or another worker,
finds what was computed from the same data instead of computing it again; new data or new code misses;
a folder that cannot be used only costs a recompute. And ``warm_up`` compiles every template."""

from __future__ import annotations

import re
from typing import Any

import pytest

from calibration import create_app
from calibration.db import get_db
from calibration.models import Role
from calibration.services import profiles, report_store, reports
from calibration.web import charts, round_svg
from calibration.web.warmup import WARM_PAGES, warm_up

from ..conftest import post_form
from ..factories import submit


def _untokened(page: str) -> str:
    """The page without its CSRF tokens (signed with the time, so they change by the second)."""
    return re.sub(r'"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}"', '"token"', page)


def _forget_in_memory() -> None:
    """What a restart forgets: the in-process caches (the disk store stays)."""
    reports.ROUND_REPORTS.clear()
    profiles.PROFILES.clear()
    profiles.ROUND_ALPHAS.clear()
    with charts._lock:
        charts._CACHE.clear()


def _scored(db: Any, world: Any) -> None:
    for i, anchor in enumerate(world.anchors):
        submit(db, world, "assessor", i, world.keys[anchor])
        submit(db, world, "assessor2", i, [1] * len(world.criteria))


def _count_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"report": 0, "chart": 0}
    real_report, real_render = reports.round_report, charts._render

    def report(*a: Any, **k: Any) -> Any:
        calls["report"] += 1
        return real_report(*a, **k)

    def render(*a: Any, **k: Any) -> Any:
        calls["chart"] += 1
        return real_render(*a, **k)

    monkeypatch.setattr(reports, "round_report", report)
    monkeypatch.setattr(charts, "_render", render)
    return calls


def test_a_restarted_process_finds_the_report_and_charts_on_disk(client, login, world, db, monkeypatch):
    _scored(db, world)
    _forget_in_memory()  # charts drawn by an earlier test from the same numbers
    calls = _count_calls(monkeypatch)
    login(world.emails["trainer"])
    url = f"/trainer/rounds/{world.round_id}"
    first = client.get(url).get_data(as_text=True)
    assert calls["report"] == 1 and calls["chart"] >= 1 and "<svg" in first
    drawn = calls["chart"]
    _forget_in_memory()
    again = client.get(url).get_data(as_text=True)
    assert calls == {"report": 1, "chart": drawn}  # nothing computed or drawn again
    assert _untokened(again) == _untokened(first)


def test_new_data_misses_the_store(client, login, world, db, monkeypatch):
    for i, anchor in enumerate(world.anchors[:-1]):
        submit(db, world, "assessor", i, world.keys[anchor])
    calls = _count_calls(monkeypatch)
    login(world.emails["trainer"])
    url = f"/trainer/rounds/{world.round_id}"
    client.get(url)
    last = len(world.anchors) - 1
    submit(db, world, "assessor", last, world.keys[world.anchors[last]])
    _forget_in_memory()
    client.get(url)
    assert calls["report"] == 2


def test_new_code_misses_the_store(app):
    with app.app_context():
        report_store.save("round-report", ("k", 1), {"value": 1}, version="old-code")
        assert report_store.load("round-report", ("k", 1), version="old-code") == {"value": 1}
        assert report_store.load("round-report", ("k", 1), version="new-code") is None
        assert report_store.load("round-report", ("k", 1)) is None  # the current code's version


def test_a_folder_that_cannot_be_used_only_costs_a_recompute(app_config, tmp_path, world, db):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    application = create_app({**app_config, "CACHE_DIR": str(blocker / "cache")})
    _scored(db, world)
    client = application.test_client()
    post_form(client, "/login", {"email": world.emails["trainer"], "password": "pw-for-tests"})
    try:
        assert client.get(f"/trainer/rounds/{world.round_id}").status_code == 200
    finally:
        get_db(application).dispose()


def test_warm_up_compiles_every_template_and_loads_the_chart_library(app):
    round_svg.viridis.cache_clear()
    warm_up(app)
    env = app.jinja_env
    names = env.list_templates(filter_func=lambda n: n.endswith((".html", ".txt", ".ics", ".xml")))
    assert names and env.cache is not None
    compiled = {key[1] for key in env.cache}
    assert set(names) <= compiled
    assert round_svg.viridis.cache_info().currsize == 1  # a heat map was drawn


def test_warm_up_reads_and_writes_nothing_and_survives_a_database_without_tables(
    app_config, tmp_path, db, world
):
    from calibration.models import AuditEvent, AuthSession

    before = (db.query(AuditEvent).count(), db.query(AuthSession).count())
    application = create_app(app_config)
    try:
        assert warm_up(application) >= 0
    finally:
        get_db(application).dispose()
    db.expire_all()
    assert (db.query(AuditEvent).count(), db.query(AuthSession).count()) == before
    empty = create_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    try:
        assert warm_up(empty) >= 0  # `flask --app wsgi migrate` on a new database loads wsgi.py first
    finally:
        get_db(empty).dispose()


def test_warm_up_compiles_the_statements_of_the_first_pages(app_config, db, world):
    """After the warm-up a trainer's first overview and lists compile no new SQL (SQLAlchemy's cache
    is keyed by a statement's shape, so the program the warm-up read does not matter)."""
    application = create_app(app_config)
    try:
        warm_up(application)
        client = application.test_client()
        resp = post_form(client, "/login", {"email": world.emails["trainer"], "password": "pw-for-tests"})
        assert resp.status_code == 302
        client.get("/trainer/")  # the login's own first statements, and the session's activity stamp
        cache = get_db(application).engine._compiled_cache
        assert cache is not None
        with application.test_request_context():
            from flask import url_for

            urls = [url_for(e) for e in WARM_PAGES[Role.LEAD_TRAINER]]
        for url in urls:
            before = len(cache)
            assert client.get(url).status_code == 200
            assert len(cache) == before, url
    finally:
        get_db(application).dispose()
