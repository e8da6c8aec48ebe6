"""Score drafts, the review step, the error summary and a timeout while scoring (issue 16, items 1-3).

A draft is private to its assessor, restored on the score page, replaced by the final sheet, never
a score; what was typed when the login session ran out comes back after logging in again.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select, update

from calibration.db import utcnow
from calibration.models import AuthSession, ScoreDraft, ScoreSheet

from ..conftest import csrf_token, post_form
from ..factories import World, score_form, submit
from .test_blindness_crawl import (
    _normalised,
    crawl,
    forbidden_markers,
    leaks,
    seed_keys,
    seed_peer_sheets,
    seeds,
)

JSON = {"Accept": "application/json"}
_ANY_CSRF = re.compile(r'(csrf_token"[^>]*value=")[^"]*"')


def _same(text: str) -> str:
    """A page without its CSRF tokens (prefixed forms' included), which differ on every request."""
    return _ANY_CSRF.sub(r'\1"', _normalised(text))


def _score_url(world: World, index: int) -> str:
    return f"/rounds/{world.round_id}/anchors/{world.anchors[index]}"


def _draft(client: Any, world: World, index: int, data: dict[str, str], **kw: Any) -> Any:
    kw.setdefault("token_page", _score_url(world, index))
    return post_form(client, _score_url(world, index) + "/draft", data, **kw)


def _drafts(db: Any) -> list[ScoreDraft]:
    db.rollback()
    return list(db.scalars(select(ScoreDraft).order_by(ScoreDraft.id)))


def _checked(html: str, criterion: int, level: int) -> bool:
    return bool(re.search(rf'id="criterion_{criterion}-{level}"[^>]*\bchecked\b', html))


def test_a_draft_is_saved_restored_overwritten_and_private(client, login, world, db, app):
    login(world.emails["assessor"])
    c = world.criteria
    data = {f"criterion_{c[0]}": "3", f"criterion_{c[1]}": "2", "notes": "first thoughts"}
    resp = _draft(client, world, 0, data, headers=JSON)
    assert resp.status_code == 200 and resp.get_json()["saved"] is True
    again = {f"criterion_{c[0]}": "4", f"criterion_{c[1]}": "2", "notes": "second thoughts"}
    assert _draft(client, world, 0, again, headers=JSON).status_code == 200
    rows = _drafts(db)
    assert (
        len(rows) == 1 and rows[0].notes == "second thoughts" and rows[0].assessor_id == world.ids["assessor"]
    )

    page = client.get(_score_url(world, 0)).get_data(as_text=True)
    assert _checked(page, c[0], 4) and _checked(page, c[1], 2) and not _checked(page, c[2], 1)
    assert "second thoughts" in page and "Draft last saved" in page
    # A draft is not a score: nothing stored, the round still has everything to score.
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    assert "0 scored" in page

    # The other assessor of the round sees nothing of it, on their own page of the same anchor.
    other = app.test_client()
    assert (
        post_form(
            other, "/login", {"email": world.emails["assessor2"], "password": "pw-for-tests"}
        ).status_code
        == 302
    )
    theirs = other.get(_score_url(world, 0)).get_data(as_text=True)
    assert "second thoughts" not in theirs and not _checked(theirs, c[0], 4)
    # Nor can someone outside the round save one there.
    outsider = app.test_client()
    post_form(outsider, "/login", {"email": world.emails["assessor_b"], "password": "pw-for-tests"})
    resp = post_form(outsider, _score_url(world, 0) + "/draft", data, token_page="/dashboard", headers=JSON)
    assert resp.status_code == 404
    assert len(_drafts(db)) == 1


def test_without_javascript_save_draft_and_save_and_next(client, login, world, db):
    login(world.emails["assessor"])
    c = world.criteria
    resp = _draft(client, world, 0, {f"criterion_{c[0]}": "2", "notes": "", "action": "draft"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(_score_url(world, 0))
    assert "Draft saved at" in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = _draft(client, world, 0, {f"criterion_{c[0]}": "3", "notes": "", "action": "next"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(_score_url(world, 1))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Anchor 2 of 5" in page
    assert _drafts(db)[0].levels == {str(c[0]): 3}


def test_the_final_sheet_replaces_the_draft_and_no_draft_follows_it(client, login, world, db):
    login(world.emails["assessor"])
    key = world.keys[world.anchors[0]]
    assert _draft(client, world, 0, {"notes": "kept for now"}, headers=JSON).status_code == 200
    assert len(_drafts(db)) == 1
    assert post_form(client, _score_url(world, 0), score_form(world, key)).status_code == 302
    assert _drafts(db) == []
    resp = _draft(client, world, 0, {"notes": "too late"}, token_page="/dashboard", headers=JSON)
    assert resp.status_code == 409 and _drafts(db) == []


def test_an_over_long_note_is_refused_with_the_limit_named_and_kept(client, login, world, db, app):
    limit = app.config["NOTES_MAX_CHARS"]
    long_note = "x" * (limit + 1)
    login(world.emails["assessor"])
    resp = _draft(client, world, 0, {"notes": long_note}, headers=JSON)
    assert resp.status_code == 400
    assert f"at most {limit:,} characters" in resp.get_json()["errors"]["notes"][0]
    assert _drafts(db) == []
    key = world.keys[world.anchors[0]]
    resp = post_form(client, _score_url(world, 0), score_form(world, key, notes=long_note))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert f'<a href="#notes">Notes can be at most {limit:,} characters' in page
    assert long_note in page  # kept whole, never cut
    assert "maxlength" not in page.split('name="notes"')[0].rsplit("<textarea", 1)[-1]
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_the_error_summary_names_and_links_the_missing_criterion(client, login, world, db):
    login(world.emails["assessor"])
    data = score_form(world, world.keys[world.anchors[0]])
    missing = world.criteria[2]
    data.pop(f"criterion_{missing}")
    for action in ("review", "submit"):
        resp = post_form(client, _score_url(world, 0), {**data, "action": action})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 400
        summary = page[
            page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))
        ]
        assert (
            "There is a problem" in summary and "autofocus" in page[: page.index('id="error-summary"') + 200]
        )
        link = re.search(r'<a href="#([^"]+)">Choose a level for “([^”]+)”', summary)
        assert link is not None, summary
        assert link.group(1) == f"criterion_{missing}-{world.levels[0]}" and f'id="{link.group(1)}"' in page
        # The field itself carries the message, and what was typed elsewhere is kept.
        assert f'id="criterion_{missing}-error"' in page and 'aria-invalid="true"' in page
        assert _checked(page, world.criteria[0], data[f"criterion_{world.criteria[0]}"])
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_the_review_step_shows_every_level_says_final_and_keeps_a_draft(client, login, world, db):
    login(world.emails["assessor"])
    key = world.keys[world.anchors[0]]
    resp = post_form(
        client, _score_url(world, 0), {**score_form(world, key, notes="my note"), "action": "review"}
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "final, cannot be changed" in page and "Anchor 1 of 5" in page
    for criterion, level in zip(world.criteria, key, strict=True):
        assert f'name="criterion_{criterion}" value="{level}"' in page
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    assert _drafts(db)[0].notes == "my note"
    # The review's own form is the final submit.
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    form.pop("csrf_token", None)
    resp = post_form(client, _score_url(world, 0), {**form, "action": "submit"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/feedback")
    feedback = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Next anchor" in feedback and _score_url(world, 1) in feedback
    assert _drafts(db) == []


def test_the_last_feedback_leads_back_to_the_round(client, login, world, db):
    login(world.emails["assessor"])
    for index in range(5):
        key = world.keys[world.anchors[index]]
        assert post_form(client, _score_url(world, index), score_form(world, key)).status_code == 302
    page = client.get(_score_url(world, 4) + "/feedback").get_data(as_text=True)
    assert "Next anchor" not in page and "Back to the round" in page and "5 of 5 scored" in page


def test_a_post_after_the_session_expired_keeps_what_was_typed(client, login, world, db, app):
    login(world.emails["assessor"])
    token = csrf_token(client, _score_url(world, 0))
    idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db.execute(update(AuthSession).values(last_seen_at=utcnow() - idle))
    db.commit()
    c = world.criteria
    typed = {f"criterion_{c[0]}": "4", f"criterion_{c[3]}": "1", "notes": "typed before the timeout"}
    resp = client.post(_score_url(world, 0), data={**typed, "csrf_token": token, "action": "review"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login_page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "What you typed is kept" in login_page
    nxt = resp.headers["Location"].split("next=")[1].split("&")[0]
    resp = post_form(
        client, f"/login?next={nxt}", {"email": world.emails["assessor"], "password": "pw-for-tests"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(_score_url(world, 0))
    page = client.get(_score_url(world, 0)).get_data(as_text=True)
    assert "You were signed out while scoring" in page
    assert _checked(page, c[0], 4) and _checked(page, c[3], 1) and "typed before the timeout" in page
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    # Taken once: a reload shows the plain page.
    assert "You were signed out" not in client.get(_score_url(world, 0)).get_data(as_text=True)


def test_what_was_typed_refills_only_levels_of_the_rubric(client, login, world, db, app):
    login(world.emails["assessor"])
    token = csrf_token(client, _score_url(world, 0))
    db.execute(update(AuthSession).values(last_seen_at=utcnow() - dt.timedelta(days=1)))
    db.commit()
    forged = {f"criterion_{world.other_rubric_criterion}": "4", f"criterion_{world.criteria[0]}": "99"}
    client.post(_score_url(world, 0) + "/draft", data={**forged, "csrf_token": token, "notes": ""})
    login(world.emails["assessor"])
    resp = client.get(_score_url(world, 0))
    assert resp.status_code == 200
    assert "checked" not in resp.get_data(as_text=True).split('id="score-form"')[1].split("notes")[0]
    assert _drafts(db) == []


def test_drafts_reveal_nothing_and_appear_in_no_statistic_export_or_trainer_page(app, world, db):
    """Drafts of a colleague change nothing an assessor or a trainer can reach; the assessor's own
    draft responses carry no key, rationale or colleague data."""
    seed_keys(db, world)
    for index in range(3):  # final sheets for the statistics, exports and trainer pages to show
        submit(db, world, "assessor", index)
    start = seeds(app, world, attachment_id=1)

    def client_as(email: str) -> Any:
        client = app.test_client()
        assert post_form(client, "/login", {"email": email, "password": "pw-for-tests"}).status_code == 302
        return client

    assessor, trainer, colleague = (client_as(world.emails[w]) for w in ("assessor", "trainer", "assessor2"))
    trainer_start = [*start, "/trainer/", "/trainer/rounds", f"/trainer/rounds/{world.round_id}"]
    before_a, before_t = crawl(assessor, start), crawl(trainer, trainer_start)
    assert sum(1 for s, _ in before_t.values() if s == 200) >= 10, "the trainer crawl reached too little"

    marker = "DRAFT-MARKER-7f3a"
    for index in range(len(world.anchors)):
        levels = {f"criterion_{c}": str(world.levels[-1]) for c in world.criteria}
        resp = _draft(colleague, world, index, {**levels, "notes": f"{marker}-{index}"}, headers=JSON)
        assert resp.status_code == 200
    assert len([d for d in _drafts(db) if d.notes.startswith(marker)]) == len(world.anchors)

    after_a, after_t = crawl(assessor, start), crawl(trainer, trainer_start)
    for before, after in ((before_a, after_a), (before_t, after_t)):
        assert leaks(after, {}, [marker]) == []
        changed = [
            u
            for u in sorted(set(before) | set(after))
            # The audit log lists every audited action, the crawl's own exports included (drafts are
            # not audited; the leak check above still searches it for the draft's words).
            if not u.startswith("/trainer/audit")
            if before.get(u, (0, ""))[0] != after.get(u, (0, ""))[0]
            or _same(before.get(u, (0, ""))[1]) != _same(after.get(u, (0, ""))[1])
        ]
        assert changed == []

    # The assessor's own draft responses: JSON, the restored page, the review step.
    seed_peer_sheets(db, world)
    markers = [m for m in forbidden_markers(world, revealed=world.anchors[:3]) if m != "Rationale for"]
    key = world.keys[world.anchors[3]]
    responses = {
        "json": _draft(assessor, world, 3, score_form(world, key), headers=JSON).get_data(as_text=True),
        "page": assessor.get(_score_url(world, 3)).get_data(as_text=True),
        "review": post_form(
            assessor, _score_url(world, 3), {**score_form(world, key), "action": "review"}
        ).get_data(as_text=True),
    }
    assert (
        '"saved":true' in responses["json"].replace(" ", "")
        and "final, cannot be changed" in responses["review"]
    )
    assert [f"{name}: {m}" for name, text in responses.items() for m in markers if m in text] == []


def test_notes_too_long_to_carry_through_the_login_are_named_not_dropped_silently(
    client, login, world, db, app
):
    from calibration.web.assessor.flow import CARRY_NOTES_MAX_BYTES

    login(world.emails["assessor"])
    assert _draft(client, world, 0, {"notes": "the saved draft's notes"}, headers=JSON).status_code == 200
    token = csrf_token(client, _score_url(world, 0))
    db.execute(update(AuthSession).values(last_seen_at=utcnow() - dt.timedelta(days=1)))
    db.commit()
    typed = {f"criterion_{world.criteria[0]}": "3", "notes": "y" * (CARRY_NOTES_MAX_BYTES + 1)}
    resp = client.post(_score_url(world, 0), data={**typed, "csrf_token": token})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert len(resp.headers.get("Set-Cookie", "")) < 4000  # the cookie stays within what browsers keep
    login(world.emails["assessor"])
    page = client.get(_score_url(world, 0)).get_data(as_text=True)
    assert _checked(page, world.criteria[0], 3)
    assert f"longer than {CARRY_NOTES_MAX_BYTES:,} bytes and could not be kept" in page
    assert "the saved draft&#39;s notes" in page or "the saved draft's notes" in page


def _expire_with_typed(client: Any, world: World, db: Any, app: Any, who: str) -> dict[str, str]:
    """``who`` types on anchor 1, the login session runs out, the POST keeps what was typed."""
    assert (
        post_form(client, "/login", {"email": world.emails[who], "password": "pw-for-tests"}).status_code
        == 302
    )
    token = csrf_token(client, _score_url(world, 0))
    idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db.execute(update(AuthSession).values(last_seen_at=utcnow() - idle))
    db.commit()
    c = world.criteria
    typed = {f"criterion_{c[0]}": "4", f"criterion_{c[3]}": "1", "notes": "typed by the first person"}
    resp = client.post(_score_url(world, 0), data={**typed, "csrf_token": token, "action": "review"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    return typed


def test_what_was_typed_is_restored_only_to_the_person_who_typed_it(client, login, world, db, app):
    """Issue 16: the carried form belongs to the user whose session ran out. Another assessor who
    signs in on the same browser and opens the same anchor sees nothing of it."""
    c = world.criteria
    _expire_with_typed(client, world, db, app, "assessor")
    resp = login(world.emails["assessor2"])  # assessor2 is assigned the same round and anchor
    assert resp.status_code == 302
    page = client.get(_score_url(world, 0)).get_data(as_text=True)
    assert "You were signed out while scoring" not in page
    assert "typed by the first person" not in page
    assert not _checked(page, c[0], 4) and not _checked(page, c[3], 1)
    # Dropped, not kept for later: the first person signing in again finds nothing either.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(world.emails["assessor"])
    assert "typed by the first person" not in client.get(_score_url(world, 0)).get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_what_was_typed_is_restored_to_the_same_person(client, login, world, db, app):
    c = world.criteria
    _expire_with_typed(client, world, db, app, "assessor")
    login(world.emails["assessor"])
    page = client.get(_score_url(world, 0)).get_data(as_text=True)
    assert "You were signed out while scoring" in page
    assert _checked(page, c[0], 4) and _checked(page, c[3], 1) and "typed by the first person" in page


def test_a_post_without_any_session_to_name_its_owner_carries_nothing(client, login, world, db):
    """Without a login session behind the cookie nobody owns what was typed: nothing is carried."""
    login(world.emails["assessor"])
    token = csrf_token(client, _score_url(world, 0))
    with client.session_transaction() as cookie:
        cookie.pop("sid")
    typed = {f"criterion_{world.criteria[0]}": "4", "notes": "typed with no owner"}
    resp = client.post(_score_url(world, 0), data={**typed, "csrf_token": token})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert "What you typed is kept" not in client.get(resp.headers["Location"]).get_data(as_text=True)
    login(world.emails["assessor2"])
    assert "typed with no owner" not in client.get(_score_url(world, 0)).get_data(as_text=True)
