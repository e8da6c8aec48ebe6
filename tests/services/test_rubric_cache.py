"""Rubric versions as cached frozen values: the stored rows, read once per database."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

from calibration.db import Database
from calibration.services.rubric_cache import rubric_snapshot
from calibration.services.scoring import rubric_with_levels

from ..web.test_query_counts import counting


def test_a_snapshot_holds_the_stored_version_and_is_read_once(app, db, world):
    round_rubric = rubric_with_levels(db, world.rubric_id)
    with counting(app) as first:
        snap = rubric_snapshot(db, world.rubric_id)
    assert first  # read from the database the first time
    assert (snap.id, snap.slug, snap.version, snap.title) == (
        round_rubric.id,
        round_rubric.slug,
        round_rubric.version,
        round_rubric.title,
    )
    assert [(c.id, c.title) for c in snap.criteria] == [(c.id, c.title) for c in round_rubric.criteria]
    assert [(lv.id, lv.value, lv.label) for lv in snap.levels] == [
        (lv.id, lv.value, lv.label) for lv in round_rubric.levels
    ]
    assert [[(d.level_id, d.text) for d in c.descriptors] for c in snap.criteria] == [
        [(d.level_id, d.text) for d in c.descriptors] for c in round_rubric.criteria
    ]
    assert snap.level_values == round_rubric.level_values
    with counting(app) as again:
        assert rubric_snapshot(db, world.rubric_id) is snap
    assert again == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.title = "changed"  # type: ignore[misc]


def test_each_database_has_its_own_snapshots(app, db, world, database_url):
    first = rubric_snapshot(db, world.rubric_id)
    other = Database(database_url)  # another engine (another app, or another test's database)
    try:
        with Session(other.engine) as session, counting_engine(other) as statements:
            again = rubric_snapshot(session, world.rubric_id)
        assert statements  # not served from the first engine's cache
        assert again == first and again is not first
    finally:
        other.dispose()


def test_an_unknown_version_is_a_lookup_error(db):
    with pytest.raises(LookupError):
        rubric_snapshot(db, 987654)


def counting_engine(database: Database):  # type: ignore[no-untyped-def]
    """:func:`counting` on an engine that belongs to no app."""
    return counting(SimpleNamespace(extensions={"calibration.db": database}))
