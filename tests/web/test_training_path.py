"""Issue 16 item 8: onboarding that explains itself. A new assessor's dashboard shows the path
(practice, qualification, certified) with where they are and what is next; no page claims agreement
before there are scores."""

from __future__ import annotations

import re

from sqlalchemy import select

from calibration.models import (
    Anchor,
    CertificationStatus,
    Membership,
    Program,
    RoundKind,
    RubricVersion,
    User,
)

from ..conftest import post_form
from ..factories import make_round, score_form


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _in_training(db, world, who: str = "assessor") -> None:  # type: ignore[no-untyped-def]
    m = db.scalar(
        select(Membership).where(
            Membership.user_id == world.ids[who], Membership.program_id == world.program_a
        )
    )
    m.certification_status = CertificationStatus.IN_TRAINING
    m.certified_at = m.certification_expires_at = None


def _training_rounds(db, world) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    me = [db.get(User, world.ids["assessor"])]
    practice = make_round(
        db, program, rubric, [db.get(Anchor, a) for a in world.anchors[:2]], me, name="Practice",
        kind=RoundKind.PRACTICE,
    )  # fmt: skip
    practice.practice_tries = 3
    qualification = make_round(
        db, program, rubric, [db.get(Anchor, a) for a in world.anchors[2:]], me, name="Qualification, attempt 1",
        kind=RoundKind.QUALIFICATION,
    )  # fmt: skip
    db.commit()
    return practice.id, qualification.id


def _path(html: str) -> str:
    start = html.index('aria-labelledby="path-heading"')
    return _text(html[start : html.index("</section>", start)])


def test_a_new_assessors_dashboard_shows_the_path_with_practice_first(client, login, world, db):
    _in_training(db, world)
    practice, qualification = _training_rounds(db, world)
    login(world.emails["assessor"])
    html = client.get("/dashboard").get_data(as_text=True)
    path = _path(html)
    assert "Your path to certification" in path
    assert re.search(r"Practise on anchors with feedback .* Not started: 2 anchors", path)
    assert re.search(r"Pass the qualification round .* Not started", path)
    assert re.search(r"Certified .* Not yet", path)
    assert "Next: practise." in path and "which criteria differed" in path
    # Practice is THE primary action; the current step is marked for screen readers.
    assert re.search(
        rf'class="button primary" id="path-action" href="/rounds/{practice}">Start practice<', html
    )
    assert 'id="step-practice" aria-current="step"' in html
    assert html.count("button primary") == 1

    # After practising, qualification is next, with its pass figures stated before starting.
    for anchor in world.anchors[:2]:
        post_form(client, f"/rounds/{practice}/anchors/{anchor}", score_form(world, world.keys[anchor]))
    html = client.get("/dashboard").get_data(as_text=True)
    path = _path(html)
    assert re.search(r"Practise on anchors with feedback .* Done: 2 of 2 anchors", path)
    assert "Next: your qualification round." in path
    assert (
        "To pass, at least 70% of your scores must match the key exactly and at least 95% be within one level"
        in path
    )
    assert re.search(rf'id="path-action" href="/rounds/{qualification}">Start qualification<', html)
    # My certification's primary action follows: qualification, once practice is done.
    cert = client.get("/certification").get_data(as_text=True)
    assert 'id="path-action"' not in cert
    assert f'<a class="button primary" href="/rounds/{qualification}">Go to Qualification, attempt 1<' in cert


def test_the_certification_page_makes_practice_the_primary_action_while_practising(client, login, world, db):
    _in_training(db, world)
    practice, qualification = _training_rounds(db, world)
    login(world.emails["assessor"])
    html = client.get("/certification").get_data(as_text=True)
    assert re.search(
        rf'class="button primary" id="path-action" href="/rounds/{practice}">Start practice<', html
    )
    assert re.search(
        rf'<a class="button" href="/rounds/{qualification}">Go to Qualification, attempt 1<', html
    )


def test_a_certified_assessor_sees_no_path(client, login, world, db):
    login(world.emails["assessor"])
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Your path to certification" not in html


def test_no_message_claims_agreement_before_there_are_scores(client, login, world, db):
    _in_training(db, world)
    _training_rounds(db, world)
    login(world.emails["assessor"])
    for url in ("/dashboard", "/certification", "/sessions", "/progress"):
        text = _text(client.get(url).get_data(as_text=True)).lower()
        assert "in line with the key" not in text, url
    sessions = _text(client.get("/sessions").get_data(as_text=True))
    assert (
        "Nothing yet: the calibration checks read your scores in calibration rounds, and you have none"
        in sessions
    )
    # With calibration scores and no finding, it says no finding, not agreement.
    post_form(
        client,
        f"/rounds/{world.round_id}/anchors/{world.anchors[0]}",
        score_form(world, world.keys[world.anchors[0]]),
    )
    sessions = _text(client.get("/sessions").get_data(as_text=True))
    assert "Nothing: the calibration checks found no drift and no lean in your scores so far." in sessions
