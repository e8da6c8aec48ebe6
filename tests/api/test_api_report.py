"""GET /rounds/{id}/report: the round report as the trainer's page computes it, every statistic with
its interval, n, label and undefined reason."""

from __future__ import annotations

from calibration.services import reports

from ..factories import submit
from .helpers import bearer, make_token


def _walk_statistics(node, found):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        if {"value", "ci_low", "ci_high", "label", "reason", "n_units"} <= set(node):
            found.append(node)
        for value in node.values():
            _walk_statistics(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk_statistics(value, found)
    return found


def test_report_matches_the_page_and_explains_every_statistic(client, world, db):
    for index in range(3):
        submit(db, world, "assessor", index)
        submit(db, world, "assessor2", index, levels=[1] * len(world.criteria))
    token = make_token(db, world, ["read"])
    r = client.get(f"/api/v1/rounds/{world.round_id}/report", headers=bearer(token))
    assert r.status_code == 200
    body = r.get_json()
    view = reports.round_overview(db, program_id=world.program_a, round_id=world.round_id)
    db.rollback()
    rel = view.report.reliability
    assert body["reliability"]["alpha"]["value"] == rel.alpha.value
    assert body["reliability"]["alpha"]["label"] == view.alpha_label(rel)
    assert body["reliability"]["alpha"]["ci_low"] == rel.alpha.ci_low
    assert len(body["reliability_by_criterion"]) == len(world.criteria)
    lines = {a["assessor_id"]: a for a in body["assessors"]}
    for line in view.lines:
        got = lines[line.user_id]
        assert got["exact"]["value"] == line.accuracy.exact.p
        assert got["exact"]["count"] == line.accuracy.exact.count
        assert got["mean_signed_deviation"]["label"] == view.lean(line)
        assert got["decision"]["outcome"] == line.decision.outcome
    statistics = _walk_statistics(body, [])
    assert len(statistics) > 20
    for stat in statistics:  # a number with its interval, or the reason it has none
        assert stat["value"] is not None or stat["reason"], stat
    assert body["pairs"] and body["pairs"][0]["n_common"] == 3 * len(
        world.criteria
    )  # units: anchor x criterion


def test_report_of_a_round_without_scores_and_of_another_program(client, world, db):
    token = make_token(db, world, ["read"])
    body = client.get(f"/api/v1/rounds/{world.round_id}/report", headers=bearer(token)).get_json()
    assert body["reliability"] is None and body["sheets"] == 0 and body["assessors"]
    r = client.get(f"/api/v1/rounds/{world.round_b}/report", headers=bearer(token))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = client.get(f"/api/v1/rounds/{world.round_id}/report?key_mode=other", headers=bearer(token))
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "key_mode"
