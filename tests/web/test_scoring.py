"""The assessor flow: dashboard, blind scoring, final submit, feedback, bad input, double submit."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from calibration.models import AuditEvent, CriterionScore, ScoreSheet

from ..conftest import post_form
from ..factories import score_form, sheets_for


def _score_url(w, anchor_index=0):  # type: ignore[no-untyped-def]
    return f"/rounds/{w.round_id}/anchors/{w.anchors[anchor_index]}"


def test_dashboard_lists_assigned_round_with_progress(client, login, world):
    login(world.emails["assessor"])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Open round" in page
    assert "0 of 5" in page
    assert "Beta round" not in page


def test_score_then_feedback_shows_key_and_rationale(client, login, world, db):
    login(world.emails["assessor"])
    key = world.keys[world.anchors[0]]
    mine = [min(4, k + 1) if i == 0 else k for i, k in enumerate(key)]
    resp = post_form(client, _score_url(world), score_form(world, mine, "first try"))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/anchors/{world.anchors[0]}/feedback")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Rationale for Anchor 1" in page
    assert "Exact match with the key" in page
    assert sheets_for(db, world.round_id) == [(world.anchors[0], world.ids["assessor"])]
    n_scores = db.scalar(select(func.count()).select_from(CriterionScore))
    assert n_scores == len(world.criteria)
    assert db.scalar(select(func.count()).where(AuditEvent.action == "sheet.submit")) == 1


def test_second_submit_stores_nothing_and_says_already_recorded(client, login, world, db):
    login(world.emails["assessor"])
    key = world.keys[world.anchors[0]]
    post_form(client, _score_url(world), score_form(world, key))
    other = [1] * len(key)
    token_page = "/dashboard"
    resp = post_form(client, _score_url(world), score_form(world, other), token_page=token_page)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Already recorded" in page
    stored = db.scalars(select(CriterionScore.level_value).order_by(CriterionScore.id)).all()
    assert stored == key
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 1


def _assert_rejected(client, world, db, data, message):  # type: ignore[no-untyped-def]
    resp = post_form(client, _score_url(world), data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert message in page
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    assert "Rationale for" not in page
    return page


def test_missing_criterion_is_refused_and_typed_values_kept(client, login, world, db):
    login(world.emails["assessor"])
    data = score_form(world, world.keys[world.anchors[0]], "keep these notes")
    missing = f"criterion_{world.criteria[1]}"
    del data[missing]
    page = _assert_rejected(client, world, db, data, "Choose a level for")
    assert "keep these notes" in page
    # Every level typed for the criteria that were sent is checked again, and no other level is.
    for criterion, typed in zip(world.criteria, world.keys[world.anchors[0]], strict=True):
        radios = re.findall(rf'<input[^>]*name="criterion_{criterion}"[^>]*>', page)
        assert radios, criterion
        checked = [
            re.search(r'value="(\d+)"', tag).group(1) for tag in radios if re.search(r"\bchecked\b", tag)
        ]
        assert checked == ([] if f"criterion_{criterion}" == missing else [str(typed)]), (criterion, checked)


def test_level_not_in_rubric_is_refused(client, login, world, db):
    login(world.emails["assessor"])
    data = score_form(world, world.keys[world.anchors[0]])
    data[f"criterion_{world.criteria[0]}"] = "9"
    _assert_rejected(client, world, db, data, "Not a valid choice")


def test_criterion_of_another_rubric_is_refused(client, login, world, db):
    login(world.emails["assessor"])
    data = score_form(world, world.keys[world.anchors[0]])
    data[f"criterion_{world.other_rubric_criterion}"] = "1"
    _assert_rejected(client, world, db, data, "not part of this rubric")


def test_oversized_notes_are_refused(client, login, world, db, app):
    login(world.emails["assessor"])
    limit = app.config["NOTES_MAX_CHARS"]
    data = score_form(world, world.keys[world.anchors[0]], "x" * (limit + 1))
    _assert_rejected(client, world, db, data, "at most")


def test_nul_byte_in_notes_is_refused(client, login, world, db):
    login(world.emails["assessor"])
    data = score_form(world, world.keys[world.anchors[0]], "before\x00after")
    _assert_rejected(client, world, db, data, "control character")


def test_a_suspended_assessor_cannot_record_new_scores(client, login, world, db):
    from calibration.models import CertificationStatus, Membership

    member = db.scalar(
        select(Membership).where(
            Membership.user_id == world.ids["assessor"], Membership.program_id == world.program_a
        )
    )
    member.certification_status = CertificationStatus.SUSPENDED
    db.commit()
    login(world.emails["assessor"])
    page = _assert_rejected(
        client,
        world,
        db,
        score_form(world, world.keys[world.anchors[0]], "typed before"),
        "status is suspended",
    )
    assert "typed before" in page
