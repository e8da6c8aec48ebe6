"""The lead trainer's round report: numbers come from calibration.stats on the stored scores; the
confusion matrix, pairwise kappa, charts, the "current key" toggle and the printable version."""

from __future__ import annotations

import re

import numpy as np

from calibration.services.anchors import change_key
from calibration.services.context import Member
from calibration.stats import pairwise_kappa_matrix, round_report
from calibration.stats.accuracy import accuracy_by_rater

from ..factories import submit
from ..factories_reports import add_assessors, assign, insert_sheets, noisy_scores

CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)
TAG = re.compile(r"<[^>]+>")


def table(page: str, table_id: str) -> str:
    start = page.index(f'id="{table_id}"')
    return page[start : page.index("</table>", start)]


def rows(html: str) -> list[list[str]]:
    """Each body row's cells as plain text."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [[" ".join(TAG.sub(" ", c).split()) for c in CELL.findall(tr)] for tr in body.split("<tr")[1:]]


def report_for(world, data, round_id, n_boot=1000):  # type: ignore[no-untyped-def]
    units, raters, criteria, values, key = data.arrays()
    return round_report(
        units, raters, criteria, values, key, levels=world.levels, earn_cut=3, n_boot=n_boot, seed=round_id
    )


def test_empty_round_renders_with_no_numbers(client, login, world):
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    assert "0 of 2 assessors finished" in page
    assert "No scores yet" in page
    assert "<svg" not in page
    assert "Compared with the key each sheet was scored against" in page


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
    table_ = accuracy_by_rater(raters, values, keys, levels=world.levels, earn_cut=3)
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    assert "2 of 2 assessors finished" in page
    accuracy = table(page, "accuracy-table")
    for who, name in (("assessor", "Asha Assessor"), ("assessor2", "Ben Second")):
        exact = table_.by_rater[world.ids[who]].exact
        row = accuracy[accuracy.index(name) :]
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
    assert not re.search(r"\bnan\b", page, re.I), "a NaN is shown as a number"
    assert "Pairwise agreement needs at least two assessors" in page
    # Confusion matrix of a perfect assessor: everything on the diagonal.
    conf = rows(table(page, "confusion-table"))
    for i, row in enumerate(conf):
        off_diagonal = [int(x) for j, x in enumerate(row[1:]) if j != i]
        assert off_diagonal == [0] * (len(world.levels) - 1)


def test_full_round_confusion_pairwise_and_alpha_match_the_library(client, login, world, db):
    people = add_assessors(db, world.program_a, 6)
    assign(db, world.round_id, people)
    data = insert_sheets(db, world.round_id, noisy_scores(world, people, seed=11))
    expected = report_for(world, data, world.round_id)
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)

    conf = rows(table(page, "confusion-table"))
    assert [[int(x) for x in row[1:]] for row in conf] == [
        list(r) for r in expected.accuracy.overall.confusion
    ]

    units = data.arrays()[0] * 1000 + data.arrays()[2]
    pm = pairwise_kappa_matrix(units, data.arrays()[1], data.arrays()[3], levels=world.levels)
    names = {uid: f"Assessor {i:03d}" for i, uid in enumerate(people)}
    pairs = rows(table(page, "pairwise-table"))
    assert len(pairs) == 6 * 5 // 2
    for a_name, b_name, kappa, n_common in pairs:
        a = next(u for u, n in names.items() if n == a_name)
        b = next(u for u, n in names.items() if n == b_name)
        lo, hi = pm.interval(a, b)
        # 5 anchors x 5 criteria = 25 units in common: enough evidence, so no "too few to judge".
        assert kappa == f"{pm.get(a, b):.2f} [{lo:.2f}, {hi:.2f}]"
        assert int(n_common) == 5 * len(world.criteria)

    rel = rows(table(page, "reliability-table"))
    alpha = expected.reliability.alpha
    assert rel[0][0] == "All criteria"
    assert rel[0][3].startswith(
        f"{alpha.value:.3f} [{alpha.ci_low:.3f}, {alpha.ci_high:.3f}] {expected.reliability.alpha_label()}"
    )
    assert len(rel) == 1 + len(world.criteria)

    # Charts are inline SVG with a text alternative, and nothing the CSP would block.
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    assert len(svgs) == 4  # accuracy, alpha, confusion, pairwise
    for svg in svgs:
        assert 'role="img"' in svg and "aria-label=" in svg and "<title" in svg
        assert "style=" not in svg and "<style" not in svg and "<script" not in svg
    assert page.count("<figure") == 4 and page.count("<figcaption>") == 4
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate ids on the page"


def test_a_new_sheet_changes_the_cached_report(client, login, world, db):
    login(world.emails["trainer"])
    submit(db, world, "assessor", 0, world.keys[world.anchors[0]])
    first = client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True)
    assert "1 of 5" in table(first, "accuracy-table")
    wrong = [1 if k > 2 else 4 for k in world.keys[world.anchors[1]]]
    submit(db, world, "assessor", 1, wrong)
    second = table(client.get(f"/trainer/rounds/{world.round_id}").get_data(as_text=True), "accuracy-table")
    assert "2 of 5" in second
    n = len(world.criteria)
    assert f"({n}/{2 * n};" in second  # exact: the first sheet only


def test_recompute_under_the_current_key(client, login, world, db):
    for who in ("assessor", "assessor2"):
        for i, anchor in enumerate(world.anchors):
            submit(db, world, who, i, world.keys[anchor])
    # The key of anchor 1 changes after scoring: every level one step up (or down at the top).
    anchor = world.anchors[0]
    new_levels = [k + 1 if k < 4 else k - 1 for k in world.keys[anchor]]
    change_key(
        db,
        Member(world.ids["trainer"], world.program_a),
        program_id=world.program_a,
        anchor_id=anchor,
        levels=dict(zip(world.criteria, new_levels, strict=True)),
        rationales={c: "Revised after the panel met." for c in world.criteria},
        reason="panel review",
        base_version=1,
    )
    db.commit()
    login(world.emails["trainer"])
    url = f"/trainer/rounds/{world.round_id}"
    stored = client.get(url).get_data(as_text=True)
    n = len(world.criteria)
    assert "(key version 1)" in stored
    assert f"({5 * n}/{5 * n};" in table(stored, "accuracy-table")  # everyone matched the key they saw
    current = client.get(url + "?key=current").get_data(as_text=True)
    assert "Recomputed under the current key" in current
    assert "key versions 1, 2" in current
    assert "2 of 10 sheets were scored against an older key version" in current
    assert f"({4 * n}/{5 * n};" in table(current, "accuracy-table")  # anchor 1 now misses everywhere
    assert 'aria-current="page">Recompute under the current key' in current


def test_unknown_key_mode_says_so_and_shows_the_default(client, login, world):
    login(world.emails["trainer"])
    resp = client.get(f"/trainer/rounds/{world.round_id}?key=%3Cb%3Eold")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "“&lt;b&gt;old” is not a way to compare with the key" in page
    assert "Compared with the key each sheet was scored against" in page


def test_printable_report(client, login, world, db):
    for i, anchor in enumerate(world.anchors):
        submit(db, world, "assessor", i, world.keys[anchor])
    login(world.emails["trainer"])
    page = client.get(f"/trainer/rounds/{world.round_id}/print").get_data(as_text=True)
    assert "agreement report" in page
    assert "print.css" in page and 'media="print"' in page
    assert "Recompute under the current key" not in page  # no controls on paper
    assert "Download as CSV" not in page
    assert 'id="accuracy-table"' in page and 'id="anchors-table"' in page


def test_trainer_of_another_program_gets_404_on_every_report_url(client, login, world, db):
    submit(db, world, "assessor", 0, world.keys[world.anchors[0]])
    login(world.emails["trainer_b"])
    rid, uid = world.round_id, world.ids["assessor"]
    for url in (
        f"/trainer/rounds/{rid}",
        f"/trainer/rounds/{rid}?key=current",
        f"/trainer/rounds/{rid}/print",
        f"/trainer/rounds/{rid}/export.csv",
        f"/trainer/rounds/{rid}/export.csv?table=accuracy",
        f"/trainer/assessors/{uid}",
        f"/trainer/assessors/{uid}/export.csv",
    ):
        assert client.get(url).status_code == 404, url
