"""The small helpers that narrow types for the strict type check (issue 14): each keeps the
runtime behaviour of the code it replaced, and refuses what it cannot narrow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, update
from sqlalchemy.orm import Session

from calibration.db import rows_matched
from calibration.services.rules import LEVELS_OF_MEASUREMENT, level_of_measurement
from calibration.services.score_rows import label_id


@pytest.mark.parametrize("label", [7, np.int64(7), np.int32(7), np.intp(7)])
def test_label_id_turns_integer_labels_into_int(label: Any) -> None:
    value = label_id(label)
    assert value == 7 and type(value) is int


@pytest.mark.parametrize("label", [None, "7", 7.0, (7,)])
def test_label_id_refuses_anything_but_an_integer(label: Any) -> None:
    with pytest.raises(TypeError, match="expected an integer id"):
        label_id(label)


def test_level_of_measurement_keeps_the_four_levels() -> None:
    assert [level_of_measurement(x) for x in ("nominal", "ordinal", "interval", "ratio")] == list(
        LEVELS_OF_MEASUREMENT
    )


def test_level_of_measurement_refuses_others_like_the_statistics() -> None:
    with pytest.raises(ValueError, match="level_of_measurement must be one of"):
        level_of_measurement("Ordinal")


def test_rows_matched_counts_an_update_and_refuses_a_select() -> None:
    metadata = MetaData()
    table = Table("t", metadata, Column("id", Integer, primary_key=True), Column("n", Integer))
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as session:
        session.execute(insert(table), [{"n": 1}, {"n": 1}, {"n": 2}])
        assert rows_matched(session.execute(update(table).where(table.c.n == 1).values(n=3))) == 2
        assert rows_matched(session.execute(update(table).where(table.c.n == 9).values(n=3))) == 0
        with pytest.raises(TypeError, match="UPDATE or DELETE"):
            rows_matched(session.execute(select(table)).freeze()())  # rows, not a cursor's count
    engine.dispose()
