"""The operational agreement report against hand-computed values on a small season, "too few to
judge", labels that agree with their intervals, and the cache keyed by the data."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import krippendorff
import numpy as np
import pytest

from calibration.models import Membership, Program, Role, User
from calibration.services.errors import InvalidInput, NotFound
from calibration.services.operational_report import OPERATIONAL_REPORTS, operational_report
from calibration.stats.labels import TOO_FEW, interpret

from ..factories_operational import add_ratings, double_scored

MARCH = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def _hand_rows(world):  # type: ignore[no-untyped-def]
    a, b = world.ids["assessor"], world.ids["assessor2"]
    c = world.ids["trainer"]  # any reader id works for the report
    c0 = world.criteria[0]
    t = MARCH
    return [
        ("s1", c0, a, 2, 1, t),
        ("s1", c0, b, 2, 2, t),
        ("s2", c0, a, 3, 1, t),
        ("s2", c0, b, 2, 2, t),
        ("s3", c0, b, 1, 1, t),
        ("s3", c0, a, 3, 2, t),
        ("s3", c0, c, 2, 3, t),
        ("s4", c0, c, 4, 1, t),
        ("s4", c0, a, 4, 2, t),
        ("s5", c0, b, 2, 1, t),
    ]


def _report(db, world, **kw):  # type: ignore[no-untyped-def]
    return operational_report(
        db,
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 3, 31),
        **kw,
    )


def test_small_season_matches_hand_computed_values(db, world):
    assert world.levels == [1, 2, 3, 4]
    add_ratings(db, world.program_a, world.rubric_id, _hand_rows(world))
    r = _report(db, world)
    overall = r.overall
    assert overall is not None and [x.criterion_id for x in r.by_criterion] == [world.criteria[0]]
    # pairs (first, second): (2,2) (3,2) (1,3) (4,4); s5 has no second read
    assert (overall.n_reads, overall.n_units, overall.n_submissions, overall.n_pairs) == (10, 5, 5, 4)
    assert (overall.exact.count, overall.exact.n) == (2, 4)
    assert (overall.adjacent.count, overall.adjacent.n) == (3, 4)
    # quadratic weights on level indices: po = 31/36, pe = 28/36, kappa = 3/8
    assert overall.kappa.value == pytest.approx(0.375)
    assert overall.kappa.ci_low is not None and overall.kappa.ci_method == "normal"
    # adjudication: of s1-s4 (read twice), s3 is two levels apart and has a third read
    assert (overall.adjudication.count, overall.adjudication.n) == (1, 4)
    assert r.by_criterion[0].adjudication.value == pytest.approx(0.25)
    # alpha on every read, against the krippendorff package (value_domain = all levels)
    data = np.full((3, 5), np.nan)
    for sub, _c, who, level, _read, _t in _hand_rows(world):
        rater = [world.ids["assessor"], world.ids["assessor2"], world.ids["trainer"]].index(who)
        data[rater, int(sub[1]) - 1] = level
    expected = krippendorff.alpha(data, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4])
    assert overall.alpha.value == pytest.approx(expected)
    # per reader, against the other read of each pair they are in
    people = {p.user_id: p for p in r.assessors}
    asha = people[world.ids["assessor"]]  # +0, +1, +2, 0
    assert (asha.n_pairs, asha.n_submissions, asha.exact.count, asha.adjacent.count) == (4, 4, 2, 3)
    assert asha.lean.value == pytest.approx(0.75)
    # clustered t interval: var = 4/3 * 2.75 / 16, t(0.975, 3) = 3.18245
    half = 3.182446305284263 * np.sqrt(4 / 3 * 2.75 / 16)
    assert asha.lean.ci_low == pytest.approx(0.75 - half) and asha.lean.ci_high == pytest.approx(0.75 + half)
    ben = people[world.ids["assessor2"]]  # 0, -1, -2
    assert (ben.n_pairs, ben.lean.value) == (3, pytest.approx(-1.0))
    assert [p.period for p in asha.periods] == ["March 2026"] and asha.periods[0].n_pairs == 4
    assert [p.period for p in r.periods] == ["March 2026"] and r.periods[0].n_pairs == 4


def test_too_few_to_judge_below_the_minimum_evidence(db, world):
    add_ratings(db, world.program_a, world.rubric_id, _hand_rows(world))
    r = _report(db, world)
    overall = r.overall
    assert overall is not None
    for stat in (overall.alpha, overall.kappa, overall.exact, overall.adjacent, overall.adjudication):
        assert stat.value is not None and stat.label == TOO_FEW
    for person in r.assessors:
        assert person.too_few and person.lean.label == TOO_FEW and person.lean.value is not None


def test_no_rows_and_undefined_reasons(db, world):
    r = _report(db, world)
    assert r.overall is None and r.assessors == [] and r.n_rows == 0
    c0 = world.criteria[0]
    a = world.ids["assessor"]
    add_ratings(db, world.program_a, world.rubric_id, [("x", c0, a, 2, 1, MARCH)])
    single = _report(db, world).overall
    assert single is not None
    assert single.kappa.value is None and "first and a second read" in single.kappa.reason
    assert single.alpha.value is None and single.alpha.reason
    assert single.adjudication.value is None and single.adjudication.reason == "no submission was read twice"


def _season(db, world, **kw):  # type: ignore[no-untyped-def]
    from calibration.models import CertificationStatus

    readers = []
    for i in range(8):
        u = User(email=f"reader{i}@a.test", name=f"Reader {i}", password_hash="x")
        db.add(u)
        db.flush()
        db.add(
            Membership(
                user_id=u.id,
                program_id=world.program_a,
                role=Role.ASSESSOR,
                certification_status=CertificationStatus.CERTIFIED,
            )
        )
        readers.append(u.id)
    db.commit()
    lenient = {readers[i]: shift for i, shift in kw.pop("lenient", {}).items()}
    rows = double_scored(
        lenient=lenient,
        readers=readers,
        criteria=world.criteria[:3],
        levels=world.levels,
        submissions=kw.pop("submissions", 400),
        start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        days=kw.pop("days", 89),
        **kw,
    )
    add_ratings(db, world.program_a, world.rubric_id, rows)
    return readers


def test_labels_never_contradict_their_intervals_and_a_lenient_reader_shows(db, world):
    readers = _season(db, world, lenient={0: 1})
    r = operational_report(
        db,
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 3, 31),
        by="quarter",
    )
    for line in r.reliability:
        alpha = line.alpha
        assert alpha.label == interpret(
            alpha.value,
            (alpha.ci_low, alpha.ci_high),
            scale="alpha",
            n_anchors=line.n_submissions,
            n_scores=line.n_reads,
        )
        assert line.kappa.ci_low <= line.kappa.value <= line.kappa.ci_high
    people = {p.user_id: p for p in r.assessors}
    for p in [*people.values(), *(x for q in people.values() for x in q.periods)]:
        if p.lean.label == "lenient":
            assert p.lean.ci_low > 0
        elif p.lean.label == "severe":
            assert p.lean.ci_high < 0
        elif p.lean.label != TOO_FEW:
            assert p.lean.ci_low <= 0 <= p.lean.ci_high
    assert people[readers[0]].lean.label == "lenient"
    assert all(people[u].lean.label != "lenient" for u in readers[1:])
    assert [p.period for p in r.periods] == ["2026 Q1"]
    assert r.sorted_assessors("lenient")[0].user_id == readers[0]
    assert r.sorted_assessors("severe")[-1].user_id == readers[0]


def test_cached_by_the_data_version(db, world):
    add_ratings(db, world.program_a, world.rubric_id, _hand_rows(world))
    OPERATIONAL_REPORTS.clear()
    first = _report(db, world)
    assert len(OPERATIONAL_REPORTS) == 1
    again = _report(db, world)
    assert again.overall == first.overall and len(OPERATIONAL_REPORTS) == 1
    c0 = world.criteria[0]
    add_ratings(db, world.program_a, world.rubric_id, [("s5", c0, world.ids["assessor"], 2, 2, MARCH)])
    after = _report(db, world)
    assert len(OPERATIONAL_REPORTS) == 2 and after.overall.n_pairs == 5


def test_scope_and_bad_periods(db, world):
    from sqlalchemy import select

    from calibration.models import RubricVersion

    other = db.scalar(select(RubricVersion.id).where(RubricVersion.program_id == world.program_b))
    with pytest.raises(NotFound):
        operational_report(db, program_id=world.program_a, rubric_version_id=other)
    with pytest.raises(InvalidInput):
        operational_report(db, program_id=world.program_a, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1))
    default = operational_report(db, program_id=world.program_a, today=dt.date(2026, 3, 31))
    assert (default.start, default.end) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))


def test_the_period_and_its_months_are_the_programs_days(db, world):
    """A program in New York: a read at 03:00 UTC on 1 April is 31 March there (a March read), and
    one at 03:00 UTC on 1 March is 28 February (outside a March period). In UTC it is the other way
    round, so the test fails if the report counts UTC days."""
    a, b, c0 = world.ids["assessor"], world.ids["assessor2"], world.criteria[0]
    april_utc = dt.datetime(2026, 4, 1, 3, 0, tzinfo=dt.UTC)  # 23:00 on 31 March in New York (EDT)
    march_utc = dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC)  # 22:00 on 28 February in New York (EST)
    rows = [
        ("late", c0, a, 2, 1, april_utc),
        ("late", c0, b, 3, 2, april_utc),
        ("early", c0, a, 1, 1, march_utc),
        ("early", c0, b, 1, 2, march_utc),
        ("early", c0, world.ids["trainer"], 2, 3, march_utc),
    ]
    add_ratings(db, world.program_a, world.rubric_id, rows)
    spring = {"start": dt.date(2026, 2, 1), "end": dt.date(2026, 4, 30)}

    utc = _report(db, world)
    assert utc.zone == "UTC" and utc.n_rows == 3  # "early", on 1 March in UTC
    by_month = operational_report(db, program_id=world.program_a, rubric_version_id=world.rubric_id, **spring)
    assert [p.period for p in by_month.periods] == ["March 2026", "April 2026"]

    db.get(Program, world.program_a).timezone = "America/New_York"
    db.commit()
    local = _report(db, world)
    assert local.zone == "America/New_York" and local.n_rows == 2  # "late", on 31 March there
    assert local.overall is not None and (local.overall.n_submissions, local.overall.n_pairs) == (1, 1)
    by_month = operational_report(db, program_id=world.program_a, rubric_version_id=world.rubric_id, **spring)
    assert [p.period for p in by_month.periods] == ["February 2026", "March 2026"]
    assert by_month.n_rows == 5
    # the default period ends with the program's today, not UTC's
    today = operational_report(db, program_id=world.program_a, rubric_version_id=world.rubric_id)
    assert today.end == dt.datetime.now(ZoneInfo("America/New_York")).date()
