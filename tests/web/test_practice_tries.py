"""Issue 16 item 7: practice that teaches. After a practice try the assessor is told which criteria
differed (never the key's level or rationale) and may try the same anchor again; the key is shown
when a try matches or the tries are used up. Each try is a new row; practice counts nowhere."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from calibration.models import (
    Anchor,
    PracticeAttempt,
    Program,
    Round,
    RoundKind,
    RubricVersion,
    ScoreSheet,
    User,
)
from calibration.services.score_rows import round_score_rows

from ..conftest import post_form
from ..factories import make_round, score_form


def _practice_round(db, world, tries: int = 3) -> int:  # type: ignore[no-untyped-def]
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    rnd = make_round(
        db,
        program,
        rubric,
        [db.get(Anchor, a) for a in world.anchors[:2]],
        [db.get(User, world.ids["assessor"])],
        name="Practice",
        kind=RoundKind.PRACTICE,
    )
    rnd.practice_tries = tries
    db.commit()
    return rnd.id


def _one_off(world, anchor: int) -> list[int]:  # type: ignore[no-untyped-def]
    """The key's levels with the first criterion moved one level (always a miss)."""
    key = list(world.keys[anchor])
    key[0] = key[0] + 1 if key[0] < max(world.levels) else key[0] - 1
    return key


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_practice_try_that_differs_names_the_criteria_and_withholds_the_key(client, login, world, db):
    round_id = _practice_round(db, world)
    anchor = world.anchors[0]
    base = f"/rounds/{round_id}/anchors/{anchor}"
    login(world.emails["assessor"])
    score_page = client.get(base).get_data(as_text=True)
    assert "Practice: not counted" in score_page
    assert "final" not in _text(score_page).lower().replace("finally", "")
    review = post_form(client, base, score_form(world, _one_off(world, anchor)) | {"action": "review"})
    review_text = _text(review.get_data(as_text=True))
    assert "Practice: not counted" in review_text and "cannot be changed" not in review_text
    assert "Submit this try" in review_text

    resp = post_form(client, base, score_form(world, _one_off(world, anchor)))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{base}/feedback")
    html = client.get(f"{base}/feedback").get_data(as_text=True)
    text = _text(html)
    assert "Your scores differ from the key on 1 of" in text
    assert text.count("Differs from the key") == 1
    assert "2 tries left" in text
    assert f'href="{base}/try-again"' in html
    # Blind: no key level column, no rationale, no challenge form while tries remain.
    assert "Rationale for" not in html and "Key level" not in html and "Why the key says so" not in html
    assert post_form(
        client, f"{base}/feedback/challenge", {"criterion": str(world.criteria[0]), "argument": "x"},
        token_page=f"{base}/feedback",
    ).status_code == 404  # fmt: skip
    round_page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "try 1 of 3 · see what differed" in round_page


def test_each_try_is_a_new_row_and_the_key_comes_after_the_last(client, login, world, db):
    round_id = _practice_round(db, world, tries=3)
    anchor = world.anchors[0]
    base = f"/rounds/{round_id}/anchors/{anchor}"
    login(world.emails["assessor"])
    wrong = _one_off(world, anchor)
    assert post_form(client, base, score_form(world, wrong)).status_code == 302
    sheet_before = db.scalar(select(ScoreSheet).where(ScoreSheet.round_id == round_id))
    levels_before = sorted((s.criterion_id, s.level_value) for s in sheet_before.scores)

    # Try 2: the form is filled in with try 1 and marks the criterion that differed.
    page = client.get(f"{base}/try-again").get_data(as_text=True)
    assert "This is try 2 of 3" in page and page.count("Differed from the key last time") == 1
    assert re.search(rf'value="{wrong[0]}"\s+aria-labelledby[^>]*checked', page)
    assert "Rationale for" not in page
    resp = post_form(client, f"{base}/try-again", score_form(world, wrong))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{base}/feedback")
    text = _text(client.get(f"{base}/feedback").get_data(as_text=True))
    assert "Try 2 of 3" in text and "1 try left" in text and "Rationale for" not in text

    # Try 3, the last: the key and its rationale are shown, compared with that try.
    assert post_form(client, f"{base}/try-again", score_form(world, wrong)).status_code == 302
    html = client.get(f"{base}/feedback").get_data(as_text=True)
    text = _text(html)
    assert "That was your last try (3 of 3)" in text
    assert "Rationale for Anchor 1" in html and "Practice: not counted" in text
    assert f"You matched the key exactly on {len(world.criteria) - 1} of {len(world.criteria)}" in text
    # No more tries: the try page sends to the feedback, a forged POST stores nothing.
    assert client.get(f"{base}/try-again").headers["Location"].endswith(f"{base}/feedback")
    post_form(
        client, f"{base}/try-again", score_form(world, world.keys[anchor]), token_page=f"{base}/feedback"
    )

    db.rollback()  # end the test's earlier read: see what the requests stored
    tries = db.scalars(select(PracticeAttempt.attempt).where(PracticeAttempt.round_id == round_id)).all()
    assert sorted(tries) == [2, 3]
    sheet_after = db.scalar(select(ScoreSheet).where(ScoreSheet.round_id == round_id))
    assert sheet_after.id == sheet_before.id
    assert sorted((s.criterion_id, s.level_value) for s in sheet_after.scores) == levels_before
    # Statistics read the sheets only: the practice round's rows are try 1's, once.
    rows = round_score_rows(db, round_id)
    assert len(rows) == len(world.criteria)


def test_a_try_that_matches_shows_the_key_at_once(client, login, world, db):
    round_id = _practice_round(db, world, tries=3)
    anchor = world.anchors[0]
    base = f"/rounds/{round_id}/anchors/{anchor}"
    login(world.emails["assessor"])
    post_form(client, base, score_form(world, _one_off(world, anchor)))
    assert post_form(client, f"{base}/try-again", score_form(world, world.keys[anchor])).status_code == 302
    text = _text(client.get(f"{base}/feedback").get_data(as_text=True))
    assert "Try 2 of 3 matched the key on every criterion" in text
    assert "Rationale for Anchor 1" in text
    assert f"exactly on {len(world.criteria)} of {len(world.criteria)}" in text


def test_a_first_try_that_matches_and_a_one_try_round_show_the_key_at_once(client, login, world, db):
    round_id = _practice_round(db, world, tries=3)
    one_try = _practice_round(db, world, tries=1)
    login(world.emails["assessor"])
    a, b = world.anchors[0], world.anchors[1]
    post_form(client, f"/rounds/{round_id}/anchors/{a}", score_form(world, world.keys[a]))
    assert "Rationale for Anchor 1" in client.get(f"/rounds/{round_id}/anchors/{a}/feedback").get_data(
        as_text=True
    )
    post_form(client, f"/rounds/{one_try}/anchors/{b}", score_form(world, _one_off(world, b)))
    html = client.get(f"/rounds/{one_try}/anchors/{b}/feedback").get_data(as_text=True)
    assert "Rationale for Anchor 2" in html and "Try this anchor again" not in html
    assert client.get(f"/rounds/{one_try}/anchors/{b}/try-again").status_code == 302


def test_try_again_exists_only_after_a_first_try_on_a_practice_round(client, login, world, db):
    round_id = _practice_round(db, world)
    anchor = world.anchors[0]
    login(world.emails["assessor"])
    assert client.get(f"/rounds/{round_id}/anchors/{anchor}/try-again").status_code == 404  # no try yet
    # A counted round has no second try, even with a sheet.
    post_form(
        client, f"/rounds/{world.round_id}/anchors/{anchor}", score_form(world, _one_off(world, anchor))
    )
    assert client.get(f"/rounds/{world.round_id}/anchors/{anchor}/try-again").status_code == 404
    client.post("/logout")
    login(world.emails["assessor2"])  # not assigned to the practice round
    assert client.get(f"/rounds/{round_id}/anchors/{anchor}/try-again").status_code == 404


def test_a_bad_try_is_refused_with_what_was_typed_kept_and_nothing_written(client, login, world, db):
    round_id = _practice_round(db, world)
    anchor = world.anchors[0]
    base = f"/rounds/{round_id}/anchors/{anchor}"
    login(world.emails["assessor"])
    post_form(client, base, score_form(world, _one_off(world, anchor)))
    data = score_form(world, world.keys[anchor], notes="kept words")
    del data[f"criterion_{world.criteria[1]}"]
    resp = post_form(client, f"{base}/try-again", data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "There is a problem" in html and "kept words" in html
    assert db.scalar(select(func.count()).select_from(PracticeAttempt)) == 0


def test_a_new_practice_round_gets_the_program_default_and_the_trainer_can_set_tries(db, world):
    import datetime as dt

    from calibration.db import utcnow
    from calibration.models import Role
    from calibration.services import rounds
    from calibration.services.context import Member
    from calibration.services.errors import InvalidInput
    from calibration.services.policy import PRACTICE_TRIES

    trainer = Member(world.ids["trainer"], world.program_a, role=Role.LEAD_TRAINER)
    now = utcnow()

    def new(kind: str, tries: int | None) -> Round:
        return rounds.create_round(
            db,
            trainer,
            program_id=world.program_a,
            name=f"{kind} {tries}",
            kind=kind,
            rubric_version_id=world.rubric_id,
            opens_at=now,
            closes_at=now + dt.timedelta(days=7),
            pass_rule=rounds.default_pass_rule(db, world.program_a),
            assessor_ids=[world.ids["assessor"]],
            practice_tries=tries,
        )

    assert new("practice", None).practice_tries == PRACTICE_TRIES == 3
    assert new("practice", 5).practice_tries == 5
    assert new("calibration", None).practice_tries == 1  # counted rounds: final at once
    try:
        new("practice", 0)
    except InvalidInput as exc:
        assert "practice_tries" in exc.field_errors
    else:
        raise AssertionError("0 tries was accepted")


def test_the_trainer_sets_the_tries_on_the_new_round_form(client, login, world, db):
    from .test_trainer_rounds_admin import new_round_data

    login(world.emails["trainer"])
    form = client.get("/trainer/rounds/new").get_data(as_text=True)
    assert 'name="practice_tries"' in form and 'value="3"' in form
    data = new_round_data(world, name="Practice with two tries", kind="practice", practice_tries="2")
    assert post_form(client, "/trainer/rounds/new", data).status_code == 302
    bad = new_round_data(world, name="Practice with none", kind="practice", practice_tries="0")
    resp = post_form(client, "/trainer/rounds/new", bad)
    assert resp.status_code == 400 and "Give between 1 and 10 tries (you gave 0)." in resp.get_data(
        as_text=True
    )
    db.rollback()
    names = dict(
        db.execute(select(Round.name, Round.practice_tries).where(Round.kind == RoundKind.PRACTICE)).all()
    )
    assert names == {"Practice with two tries": 2}


def test_a_stored_try_is_never_updated_or_deleted(db, world, owner_database_url):
    """Like a score sheet, a practice try is final: even raw SQL (the app's connection, or the owner's
    on PostgreSQL) cannot change or remove it (migration 0014's triggers)."""
    import pytest
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from calibration.models import Role
    from calibration.services import practice
    from calibration.services.context import Member
    from calibration.services.rubric_cache import rubric_snapshot
    from calibration.services.scoring import submit_sheet

    round_id = _practice_round(db, world)
    anchor = world.anchors[0]
    me = Member(world.ids["assessor"], world.program_a, Role.ASSESSOR)
    wrong = dict(zip(world.criteria, _one_off(world, anchor), strict=True))
    submit_sheet(db, me, round_id=round_id, anchor_id=anchor, levels=wrong, notes="")
    rnd = db.get(Round, round_id)
    stored = practice.try_again(
        db, me, rnd=rnd, anchor=db.get(Anchor, anchor), rubric=rubric_snapshot(db, rnd.rubric_version_id),
        levels=wrong, notes="",
    )  # fmt: skip
    assert stored.attempt == 2
    db.commit()
    refused = r"immutable|permission denied"
    for statement in ("UPDATE practice_attempt SET notes = 'changed'", "DELETE FROM practice_attempt"):
        with pytest.raises(Exception, match=refused):
            db.execute(text(statement))
        db.rollback()
    if db.get_bind().dialect.name == "postgresql":
        owner = create_engine(owner_database_url)
        try:
            with Session(owner) as as_owner:
                for statement in (
                    "UPDATE practice_attempt SET notes = 'changed'",
                    "DELETE FROM practice_attempt",
                    "TRUNCATE practice_attempt",
                ):
                    with pytest.raises(Exception, match="immutable"):
                        as_owner.execute(text(statement))
                    as_owner.rollback()
        finally:
            owner.dispose()
    assert db.scalar(select(func.count()).select_from(PracticeAttempt)) == 1


def test_later_tries_appear_in_no_statistic_export_or_trainer_page(app, world, db):
    """Practice never counts, and a try after the first is read by nothing but the assessor's own
    practice pages: every trainer page (the practice round's report and exports included) stays byte
    for byte the same after more tries, and their notes show nowhere the trainer or the assessor can
    reach."""
    from .test_blindness_crawl import crawl, leaks, seeds
    from .test_drafts import _same

    round_id = _practice_round(db, world, tries=3)
    first, second = world.anchors[0], world.anchors[1]

    def client_as(email: str):  # type: ignore[no-untyped-def]
        client = app.test_client()
        assert post_form(client, "/login", {"email": email, "password": "pw-for-tests"}).status_code == 302
        return client

    assessor, trainer = client_as(world.emails["assessor"]), client_as(world.emails["trainer"])
    for anchor in (first, second):
        post_form(
            assessor, f"/rounds/{round_id}/anchors/{anchor}", score_form(world, _one_off(world, anchor))
        )
    trainer_start = [
        *seeds(app, world, attachment_id=1),
        "/trainer/",
        f"/trainer/rounds/{round_id}",
        f"/trainer/rounds/{round_id}/manage",
        f"/trainer/assessors/{world.ids['assessor']}",
    ]
    before_t = crawl(trainer, trainer_start)
    assert before_t[f"/trainer/rounds/{round_id}"][0] == 200

    marker = "TRY-MARKER-5c1d"
    resp = post_form(
        assessor,
        f"/rounds/{round_id}/anchors/{first}/try-again",
        score_form(world, world.keys[first], marker),
    )
    assert resp.status_code == 302
    post_form(
        assessor,
        f"/rounds/{round_id}/anchors/{second}/try-again",
        score_form(world, _one_off(world, second), f"{marker}-2"),
    )
    db.rollback()
    assert db.scalar(select(func.count()).select_from(PracticeAttempt)) == 2
    after_t = crawl(trainer, trainer_start)
    assert leaks(after_t, {}, [marker]) == []
    for url in ("/progress", "/dashboard", "/certification"):  # the assessor's own feedback shows their notes
        assert marker not in assessor.get(url).get_data(as_text=True), url
    feedback = assessor.get(f"/rounds/{round_id}/anchors/{first}/feedback").get_data(as_text=True)
    assert f'<p class="notes">{marker}</p>' in feedback  # the latest try's notes, on its own feedback
    changed = [
        u
        for u in sorted(set(before_t) | set(after_t))
        if not u.startswith("/trainer/audit")  # the audit log lists every action, tries included
        if before_t.get(u, (0, ""))[0] != after_t.get(u, (0, ""))[0]
        or _same(before_t.get(u, (0, ""))[1]) != _same(after_t.get(u, (0, ""))[1])
    ]
    assert changed == [], changed


def test_my_progress_leaves_out_a_practice_sheet_whose_key_is_withheld(client, login, world, db):
    """My progress compares scores with the key; for a practice anchor whose key waits for another
    try that would give it away, so the sheet is left out until the key is shown."""
    round_id = _practice_round(db, world, tries=2)
    anchor = world.anchors[0]
    base = f"/rounds/{round_id}/anchors/{anchor}"
    login(world.emails["assessor"])
    post_form(client, base, score_form(world, _one_off(world, anchor)))
    progress = _text(client.get("/progress").get_data(as_text=True))
    assert "How often you use each level, against the key" not in progress
    assert "Practice" in progress  # the round is listed, its figures are not
    post_form(client, f"{base}/try-again", score_form(world, _one_off(world, anchor)))
    client.get(f"{base}/feedback")  # the last try: the key is shown
    progress = _text(client.get("/progress").get_data(as_text=True))
    assert "How often you use each level, against the key" in progress
    n = len(world.criteria)
    assert f"exact matches {n - 1} of {n}" in progress.lower() or f"({n - 1}/{n}" in progress
