"""GET /api/v1/operational-report: exactly what the trainer's page shows, every statistic with its
interval, label, n and undefined reason; bad queries are problem+json, another program's rubric 404."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from sqlalchemy import select

from calibration.models import Program, RubricVersion
from calibration.services.operational_report import operational_report

from ..api.helpers import bearer, make_token
from ..api.test_api_report import _walk_statistics
from ..factories_reports import add_assessors
from .test_operational_web import JAN, QUERY, _season


def test_api_page_and_csv_agree(client, db, world, login):
    readers = add_assessors(db, world.program_a, 6, prefix="Reader")
    _season(db, world, readers, lenient={readers[1]: 1})
    token = make_token(db, world, ["read"])
    q = QUERY.format(rid=world.rubric_id)
    r = client.get(f"/api/v1/operational-report?{q}", headers=bearer(token))
    assert r.status_code == 200 and r.headers.get("ETag")
    body = r.get_json()
    report = operational_report(
        db,
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        start=JAN.date(),
        end=dt.date(2026, 3, 31),
    )
    db.rollback()
    overall = report.overall
    assert body["ratings"] == report.n_rows and body["from_date"] == "2026-01-01"
    assert body["reliability"]["alpha"]["value"] == overall.alpha.value
    assert body["reliability"]["alpha"]["label"] == overall.alpha.label
    assert body["reliability"]["weighted_kappa"]["ci_low"] == overall.kappa.ci_low
    assert body["reliability"]["adjudication_rate"]["count"] == overall.adjudication.count
    assert len(body["reliability_by_criterion"]) == len(report.by_criterion) == 3
    people = {a["assessor_id"]: a for a in body["assessors"]}
    for a in report.assessors:
        got = people[a.user_id]
        assert got["mean_signed_difference"]["value"] == a.lean.value
        assert got["mean_signed_difference"]["label"] == a.lean.label
        assert [p["period"] for p in got["periods"]] == [p.period for p in a.periods]
    assert people[readers[1]]["mean_signed_difference"]["label"] == "lenient"
    for stat in _walk_statistics(body, []):
        assert stat["value"] is not None or stat["reason"], stat
    # the page and the CSV show the same numbers
    login(world.emails["trainer"])
    html = client.get(f"/trainer/operational?{q}").get_data(as_text=True)
    assert f"{body['reliability']['alpha']['value']:.3f}" in html
    text = client.get(f"/trainer/operational/export.csv?{q}").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    kappa = next(
        x
        for x in rows
        if x["scope"] == "All criteria" and x["statistic"] == "kappa" and x["section"] == "reliability"
    )
    assert float(kappa["value"]) == body["reliability"]["weighted_kappa"]["value"]


def test_bad_queries_and_scope(client, db, world):
    token = make_token(db, world, ["read"])
    headers = bearer(token)
    for q in ("from=2026-03-02&to=2026-03-01", "from=yesterday", "by=decade", "rubric_version=0", "extra=1"):
        r = client.get(f"/api/v1/operational-report?{q}", headers=headers)
        assert r.status_code == 400 and r.mimetype == "application/problem+json", q
    # Only "from", after today (the default "to"): the same refusal, naming "from" (was a 500).
    r = client.get("/api/v1/operational-report?from=7037-01-30", headers=headers)
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert "`from` is after `to`" in r.get_json()["errors"][0]["message"]
    other = db.scalar(select(RubricVersion.id).where(RubricVersion.program_id == world.program_b))
    db.rollback()
    r = client.get(f"/api/v1/operational-report?rubric_version={other}", headers=headers)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert client.get("/api/v1/operational-report").status_code == 401
    empty = client.get("/api/v1/operational-report", headers=headers).get_json()
    assert empty["reliability"] is None and empty["assessors"] == [] and empty["ratings"] == 0
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/operational-report" in spec["paths"]


def test_the_default_period_ends_with_the_programs_today(client, db, world):
    """Days are the program's: with ``to`` left out the period ends with its today, and ``from`` on
    that day is accepted even where it is already tomorrow in UTC. One of the two zones below is
    on another date than UTC at any moment (UTC+14 from 10:00 UTC, UTC-12 before 12:00 UTC)."""
    utc_today = dt.datetime.now(dt.UTC).date()
    zone = next(
        z for z in ("Pacific/Kiritimati", "Etc/GMT+12") if dt.datetime.now(ZoneInfo(z)).date() != utc_today
    )
    db.get(Program, world.program_a).timezone = zone
    db.commit()
    local_today = dt.datetime.now(ZoneInfo(zone)).date()
    token = make_token(db, world, ["read"])
    r = client.get(f"/api/v1/operational-report?from={local_today.isoformat()}", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["from_date"], body["to_date"]) == (local_today.isoformat(), local_today.isoformat())
