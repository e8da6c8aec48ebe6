"""The trainer's live scoring page and its CSV: what the service computed, bad filters answered in
plain words, formula-safe cells, an audited download, and the same number of queries for 10 and
300 readers."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from calibration.models import AuditEvent, Criterion, Level, RubricVersion, User
from calibration.services import report_store
from calibration.services.operational_report import OPERATIONAL_REPORTS, operational_report

from ..factories_operational import add_ratings, double_scored
from ..factories_reports import add_assessors
from ..web.test_query_counts import counting

JAN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
QUERY = "rubric_version={rid}&from=2026-01-01&to=2026-03-31"


def _season(db, world, readers, *, rubric_id=None, submissions=240, lenient=None, prefix="sub"):  # type: ignore[no-untyped-def]
    rid = rubric_id or world.rubric_id
    criteria = list(
        db.scalars(
            select(Criterion.id).where(Criterion.rubric_version_id == rid).order_by(Criterion.position)
        )
    )[:3]
    levels = list(
        db.scalars(select(Level.value).where(Level.rubric_version_id == rid).order_by(Level.position))
    )
    rows = double_scored(
        readers=readers,
        criteria=criteria,
        levels=levels,
        submissions=submissions,
        start=JAN,
        days=89,
        lenient=lenient,
        prefix=prefix,
    )
    add_ratings(db, world.program_a, rid, rows)


def test_page_shows_the_report_sorted_by_lean_with_too_few_marked(client, db, world, login):
    readers = add_assessors(db, world.program_a, 6, prefix="Reader")
    _season(db, world, readers, lenient={readers[2]: 1})
    # one reader with a single pair: too few to judge
    few = add_assessors(db, world.program_a, 1, prefix="Newcomer")[0]
    c0 = world.criteria[0]
    add_ratings(
        db,
        world.program_a,
        world.rubric_id,
        [("late-1", c0, few, 2, 1, JAN), ("late-1", c0, readers[0], 3, 2, JAN)],
    )
    login(world.emails["trainer"])
    html = client.get(f"/trainer/operational?{QUERY.format(rid=world.rubric_id)}&sort=lenient").get_data(
        as_text=True
    )
    report = operational_report(
        db,
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        start=JAN.date(),
        end=dt.date(2026, 3, 31),
    )
    overall = report.overall
    assert overall is not None
    assert "Live scoring agreement" in html and 'id="reliability-table"' in html
    assert f"{overall.alpha.value:.3f}" in html and f"{overall.kappa.value:.2f}" in html
    assert f"({overall.adjudication.count}/{overall.adjudication.n};" in html
    names = dict(db.execute(select(User.id, User.name)).all())
    table = html.split('id="assessors-table"')[1].split("</table>")[0]
    assert table.index(names[readers[2]]) < min(table.index(names[r]) for r in readers if r != readers[2])
    assert "lenient" in table
    newcomer_row = table.split(names[few])[0].rsplit("<tr", 1)[1]
    assert 'class="too-few"' in newcomer_row
    assert "too few to judge" in table.split(names[few])[1].split("</tr>")[0]
    for p in report.periods:
        assert p.period in html


def test_bad_filters_keep_what_was_typed_and_say_why(client, db, world, login):
    login(world.emails["trainer"])
    r = client.get(
        "/trainer/operational?from=2026-13-45&to=yesterday&by=decade&rubric_version=99999&sort=%3D1"
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "is not a date" in html and "2026-13-45" in html and "yesterday" in html
    assert "is not a way to group over time" in html and "is not a rubric version of this program" in html
    r = client.get("/trainer/operational?from=2026-03-02&to=2026-03-01")
    assert "“From” is after “to”" in r.get_data(as_text=True)
    empty = client.get("/trainer/operational").get_data(as_text=True)
    assert 'id="no-ratings"' in empty


def test_csv_matches_the_page_is_formula_safe_and_audited(client, db, world, login):
    readers = add_assessors(db, world.program_a, 5, prefix="Reader")
    db.get(User, readers[0]).name = "=HYPERLINK(1)"
    db.commit()
    _season(db, world, readers)
    login(world.emails["trainer"])
    r = client.get(f"/trainer/operational/export.csv?{QUERY.format(rid=world.rubric_id)}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    report = operational_report(
        db,
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        start=JAN.date(),
        end=dt.date(2026, 3, 31),
    )
    alpha = next(
        x
        for x in rows
        if x["section"] == "reliability" and x["scope"] == "All criteria" and x["statistic"] == "alpha"
    )
    assert float(alpha["value"]) == report.overall.alpha.value and alpha["label"] == (
        report.overall.alpha.label or ""
    )
    leans = [x for x in rows if x["section"] == "assessor" and x["statistic"] == "lean"]
    assert any(x["scope"] == "'=HYPERLINK(1)" for x in leans)
    assert not any(x["scope"].startswith("=") for x in rows)
    audit = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "export.csv").order_by(AuditEvent.id.desc())
    )
    assert audit is not None and audit.object_type == "operational_report"


def test_same_number_of_queries_for_10_and_300_readers(app, client, db, world, login):
    other = db.scalar(
        select(RubricVersion.id).where(
            RubricVersion.program_id == world.program_a, RubricVersion.id != world.rubric_id
        )
    )
    small = add_assessors(db, world.program_a, 10, prefix="Small")
    large = add_assessors(db, world.program_a, 300, prefix="Large")
    _season(db, world, small, submissions=150, prefix="small")
    _season(db, world, large, rubric_id=other, submissions=900, prefix="large")
    login(world.emails["trainer"])
    client.get("/trainer/")

    def count(rid: int) -> int:
        OPERATIONAL_REPORTS.clear()
        report_store.clear()
        with counting(app) as statements:
            resp = client.get(f"/trainer/operational?{QUERY.format(rid=rid)}")
        assert resp.status_code == 200 and "assessors-table" in resp.get_data(as_text=True)
        return len(statements)

    assert count(world.rubric_id) == count(other)
