"""The lead trainer's round page: numbers come from calibration.stats on the stored scores."""

from __future__ import annotations

import re

import numpy as np

from calibration.stats.accuracy import accuracy_by_rater

from ..factories import submit


def test_empty_round_renders_with_no_numbers(client, login, world):
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    assert "0 of 2 assessors finished" in page
    assert "No scores yet" in page


def test_round_page_matches_the_statistics_library(client, login, world, db):
    rng = np.random.default_rng(7)
    expected_rows = []
    for who in ("assessor", "assessor2"):
        for i, anchor in enumerate(world.anchors):
            key = world.keys[anchor]
            levels = [int(np.clip(k + rng.integers(-1, 2), 1, 4)) for k in key]
            submit(db, world, who, i, levels)
            expected_rows += [(world.ids[who], lv, k) for lv, k in zip(levels, key, strict=True)]
    raters, values, keys = (np.array(col) for col in zip(*expected_rows, strict=True))
    table = accuracy_by_rater(raters, values, keys, levels=world.levels, earn_cut=3)
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    assert "2 of 2 assessors finished" in page
    for who, name in (("assessor", "Asha Assessor"), ("assessor2", "Ben Second")):
        exact = table.by_rater[world.ids[who]].exact
        row = page[page.index(name) :]
        row = row[: row.index("</tr>")]
        assert f"{exact.p * 100:.0f}% " in row and f"({exact.count}/{exact.n};" in row
    assert "Krippendorff" in page
    assert re.search(r"All criteria</th>\s*<td class=\"num\">\d+</td>", page)


def test_one_assessor_round_reports_reliability_as_undefined(client, login, world, db):
    for i, anchor in enumerate(world.anchors):
        submit(db, world, "assessor", i, world.keys[anchor])
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    assert "100% " in page
    assert "undefined" in page
    assert "nan" not in page.lower().replace("nancy", "")
