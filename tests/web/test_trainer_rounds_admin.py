"""The trainer's round pages: create (pass rule prefilled, edited value stored), choose anchors,
open, extend, close; bad input keeps what was typed; out-of-scope people get 404; and assessors see
a round only inside its window."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import (
    Assignment,
    AuditEvent,
    Program,
    Round,
    RoundAnchor,
    RoundStatus,
    RubricVersion,
    ScoreSheet,
)
from calibration.services import rounds as service

from ..conftest import post_form
from ..factories import PASSWORD, score_form, submit
from ..factories_rounds import covering_set, trainer

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def client_as(app: Any, email: str) -> Any:
    client = app.test_client()
    resp = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def input_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    assert tag, f"no input {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def rounds_written(db: Any) -> tuple[int, ...]:
    db.rollback()  # a fresh snapshot: see what the requests committed
    return (
        db.scalar(select(func.count()).select_from(Round)),
        db.scalar(select(func.count()).select_from(RoundAnchor)),
        db.scalar(select(func.count()).select_from(Assignment)),
        db.scalar(select(func.count()).where(AuditEvent.action.like("round.%"))),
        *db.scalars(select(Round.status).order_by(Round.id)),
    )


def stamp(value: dt.datetime) -> tuple[str, str]:
    return value.strftime("%Y-%m-%d"), value.strftime("%H:%M")


def new_round_data(world: Any, **overrides: Any) -> dict[str, Any]:
    start = utcnow().replace(second=0, microsecond=0) - HOUR
    (od, ot), (cd, ct) = stamp(start), stamp(start + 7 * DAY)
    data: dict[str, Any] = {
        "name": "Spring calibration",
        "kind": "calibration",
        "rubric_version_id": str(world.rubric_id),
        "opens_date": od,
        "opens_time": ot,
        "closes_date": cd,
        "closes_time": ct,
        "min_exact": "70",
        "min_adjacent": "95",
        "max_discrepant": "1",
        "min_decision": "90",
        "min_anchors": "5",
        "min_scores": "20",
        "assessor_ids": [str(world.ids["assessor"]), str(world.ids["assessor2"])],
    }
    data.update(overrides)
    return data


def create(trainer_client: Any, world: Any, db: Any, **overrides: Any) -> Round:
    resp = post_form(trainer_client, "/trainer/rounds/new", new_round_data(world, **overrides))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.rollback()
    rnd = db.scalar(select(Round).order_by(Round.id.desc()).limit(1))
    assert resp.headers["Location"].endswith(f"/trainer/rounds/{rnd.id}/manage")
    return rnd


def act(client: Any, round_id: int, action: str, data: dict[str, Any] | None = None) -> Any:
    return post_form(
        client,
        f"/trainer/rounds/{round_id}/{action}",
        data or {},
        token_page=f"/trainer/rounds/{round_id}/manage",
    )


# ------------------------------------------------------------------------------ create
def test_rounds_list_links_to_new_and_manage(app, world):
    page = client_as(app, world.emails["trainer"]).get("/trainer/").get_data(as_text=True)
    assert 'href="/trainer/rounds/new"' in page
    assert f'href="/trainer/rounds/{world.round_id}/manage"' in page


def test_pass_rule_is_prefilled_from_the_program_settings(app, world, db):
    program = db.get(Program, world.program_a)
    program.settings_json = json.dumps({"pass_rule": {"min_exact": 0.8, "min_anchors": 6}})
    db.commit()
    page = client_as(app, world.emails["trainer"]).get("/trainer/rounds/new").get_data(as_text=True)
    expected = {
        "min_exact": "80",
        "min_adjacent": "95",
        "min_decision": "90",
        "max_discrepant": "1",
        "min_anchors": "6",
        "min_scores": "20",
    }
    assert {name: input_value(page, name) for name in expected} == expected
    assert "(UTC)" in page and "Exact agreement with the key, at least (%)" in page


def test_the_exact_minimum_for_each_scale_is_stated_and_prefilled_for_the_first_rubric(app, world, db):
    """Issue 16 item 6: the default exact agreement follows the scale (90% on 2 levels, 80% on 3),
    and the page says so next to the rule, with the program's own values."""
    program = db.get(Program, world.program_a)
    program.settings_json = json.dumps({"pass_rule": {"min_exact": 0.75, "min_exact_3_levels": 0.85}})
    db.commit()
    page = client_as(app, world.emails["trainer"]).get("/trainer/rounds/new").get_data(as_text=True)
    assert "75% for 4 levels or more, 85% for 3 levels, 90% for 2 levels" in page
    assert input_value(page, "min_exact") == "75"  # the world's first rubric has four levels


def test_create_stores_the_edited_pass_rule_and_assessors(app, world, db):
    client = client_as(app, world.emails["trainer"])
    rnd = create(
        client, world, db, min_exact="87.5", max_discrepant="0", assessor_ids=[str(world.ids["assessor2"])]
    )
    rule = json.loads(rnd.pass_rule_json)
    assert rule["min_exact"] == 0.875 and rule["max_discrepant"] == 0 and rule["min_adjacent"] == 0.95
    assert rnd.status == RoundStatus.DRAFT and rnd.program_id == world.program_a
    assert [a.user_id for a in rnd.assignments] == [world.ids["assessor2"]]
    assert rnd.opens_at.tzinfo is not None
    page = client.get(f"/trainer/rounds/{rnd.id}/manage").get_data(as_text=True)
    assert "Round created as a draft" in page
    assert "exact ≥ 87.5%" in page and "Choose at least one anchor." in page


@pytest.mark.parametrize(
    "overrides, message, kept",
    [
        ({"closes_date": "2020-01-01"}, "The round must close after it opens", ("closes_date", "2020-01-01")),
        ({"min_exact": "150"}, "must be between 0% and 100% (you entered 150%)", ("min_exact", "150")),
        ({"assessor_ids": []}, "Choose at least one assessor.", ("name", "Spring calibration")),
        ({"opens_date": "2025-13-45"}, "Enter the date as YYYY-MM-DD.", ("opens_date", "2025-13-45")),
        ({"min_anchors": "0"}, "The minimum number of anchors must be at least 1", ("min_anchors", "0")),
        ({"max_discrepant": "1.5"}, "Not a valid integer value", ("max_discrepant", "1.5")),
        ({"name": "x" * 201}, "at most 200 characters", ("min_exact", "70")),
    ],
)
def test_bad_input_keeps_what_was_typed_and_writes_nothing(app, world, db, overrides, message, kept):
    client = client_as(app, world.emails["trainer"])
    before = rounds_written(db)
    data = new_round_data(world, **overrides)
    resp = post_form(client, "/trainer/rounds/new", data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in page
    assert input_value(page, kept[0]) == kept[1]
    assert input_value(page, "name") == data["name"]
    if overrides.get("assessor_ids") is None:  # the chosen assessors stay checked
        assert re.search(rf'value="{world.ids["assessor2"]}" checked', page)
    assert rounds_written(db) == before


# ------------------------------------------------------------------------- manage: the flow
def test_choose_automatically_open_extend_close(app, world, db):
    covering_set(db, world, "Covering")
    client = client_as(app, world.emails["trainer"])
    rnd = create(client, world, db)
    resp = act(client, rnd.id, "anchors/auto", {"target": "5"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "5 anchors chosen automatically, covering every level of every criterion." in page
    assert "Together the anchors' keys cover every level of every criterion." in page

    resp = act(client, rnd.id, "open")
    assert resp.status_code == 302
    assert "Round opened. Assessors can score it now." in client.get(resp.headers["Location"]).get_data(
        as_text=True
    )

    db.rollback()
    current = db.get(Round, rnd.id).closes_at
    new_date, new_time = stamp(current + 3 * DAY)
    resp = act(client, rnd.id, "extend", {"closes_date": new_date, "closes_time": new_time})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert f"it now closes {new_date} {new_time} UTC" in client.get(resp.headers["Location"]).get_data(
        as_text=True
    )

    resp = act(client, rnd.id, "close")
    assert resp.status_code == 302
    db.rollback()
    closed = db.get(Round, rnd.id)
    assert closed.status == RoundStatus.CLOSED
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_id == str(rnd.id), AuditEvent.object_type == "round"
        )
    ).all()
    assert actions == ["round.create", "round.anchors_set", "round.open", "round.extend", "round.close"]
    page = client.get(f"/trainer/rounds/{rnd.id}/manage").get_data(as_text=True)
    assert "This round is closed." in page and 'name="anchor_ids"' not in page


def test_choose_by_hand_and_change_assessors(app, world, db):
    client = client_as(app, world.emails["trainer"])
    rnd = create(client, world, db)
    page = client.get(f"/trainer/rounds/{rnd.id}/manage").get_data(as_text=True)
    assert "Anchor 3" in page
    resp = act(client, rnd.id, "anchors", {"anchor_ids": [str(world.anchors[2]), str(world.anchors[0])]})
    assert resp.status_code == 302
    resp = act(client, rnd.id, "assessors", {"assessor_ids": [str(world.ids["assessor"])]})
    assert resp.status_code == 302
    db.rollback()
    assert [ra.anchor_id for ra in db.get(Round, rnd.id).round_anchors] == [
        world.anchors[2],
        world.anchors[0],
    ]
    assert [a.user_id for a in db.get(Round, rnd.id).assignments] == [world.ids["assessor"]]
    page = client.get(f"/trainer/rounds/{rnd.id}/manage").get_data(as_text=True)
    assert "fewer than 5 anchors" in page
    assert re.search(rf'value="{world.anchors[2]}" id="anchor-{world.anchors[2]}" checked', page)


@pytest.mark.parametrize(
    "action, data, message",
    [
        ("open", {}, "Choose at least one anchor."),
        ("anchors/auto", {"target": "5"}, "at level 1"),
        ("anchors/auto", {"target": "0"}, "a whole number from 1 to 100"),
        ("assessors", {}, "Choose at least one assessor."),
        ("anchors", {"anchor_ids": ["999999"]}, "is not a valid choice"),
        (
            "extend",
            {"closes_date": "2099-01-01", "closes_time": "10:00"},
            "Only an open round can be extended",
        ),
        ("close", {}, "Only an open round can be closed; this round is draft."),
        (
            "window",
            {
                "opens_date": "2099-01-02",
                "opens_time": "10:00",
                "closes_date": "2099-01-01",
                "closes_time": "10:00",
            },
            "The round must close after it opens",
        ),
    ],
)
def test_refusals_on_a_draft_show_the_reason_and_write_nothing(app, world, db, action, data, message):
    client = client_as(app, world.emails["trainer"])
    rnd = create(client, world, db)
    before = rounds_written(db)
    resp = act(client, rnd.id, action, data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400, page
    assert message in page
    assert rounds_written(db) == before
    for name in ("closes_date", "opens_date"):
        if name in data and action == "window":
            assert input_value(page, name) == data[name]


@pytest.mark.parametrize(
    "action, data, message",
    [
        ("open", {}, "This round is already open"),
        (
            "anchors",
            {"anchor_ids": []},
            "Anchors can be changed only while the round is a draft; this round is open.",
        ),
        (
            "assessors",
            {"assessor_ids": ["ASSESSOR"]},
            "Assessors can be changed only while the round is a draft",
        ),
        (
            "window",
            {
                "opens_date": "2099-01-01",
                "opens_time": "10:00",
                "closes_date": "2099-01-02",
                "closes_time": "10:00",
            },
            "The window can be changed only while the round is a draft; this round is open. Extend it instead.",
        ),
        (
            "extend",
            {"closes_date": "2020-01-01", "closes_time": "10:00"},
            "The new closing time must be in the future",
        ),
    ],
)
def test_refusals_on_an_open_round_show_the_reason_and_write_nothing(app, world, db, action, data, message):
    client = client_as(app, world.emails["trainer"])
    if data.get("assessor_ids") == ["ASSESSOR"]:
        data = {"assessor_ids": [str(world.ids["assessor"])]}
    before = rounds_written(db)
    resp = act(client, world.round_id, action, data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400, page
    assert message in page
    assert rounds_written(db) == before
    if action == "extend":
        assert input_value(page, "closes_date") == "2020-01-01"


def test_extending_to_an_earlier_time_is_refused(app, world, db):
    client = client_as(app, world.emails["trainer"])
    current = db.get(Round, world.round_id).closes_at
    date, time = stamp(current - HOUR)
    before = rounds_written(db)
    resp = act(client, world.round_id, "extend", {"closes_date": date, "closes_time": time})
    assert resp.status_code == 400
    assert "must be later than the current one" in resp.get_data(as_text=True)
    assert rounds_written(db) == before


def test_qualification_round_lists_who_has_seen_each_anchor(app, world, db):
    client = client_as(app, world.emails["trainer"])
    rnd = create(client, world, db, kind="qualification")
    page = client.get(f"/trainer/rounds/{rnd.id}/manage").get_data(as_text=True)
    # Both assessors are in the world's open round with these anchors: seen.
    assert "Already seen by" in page and "Asha Assessor, Ben Second" in page
    resp = act(client, rnd.id, "anchors", {"anchor_ids": [str(world.anchors[0])]})
    assert resp.status_code == 400
    assert "“Anchor 1” has already been seen by Asha Assessor and Ben Second" in resp.get_data(as_text=True)


def test_calibration_round_refuses_a_hand_pick_whose_key_was_read_and_counts_fresh_anchors(app, world, db):
    submit(db, world, "assessor", 0)  # Asha's final sheet: she can read anchor 1's key now
    client = client_as(app, world.emails["trainer"])
    rnd = create(client, world, db)
    page = client.get(f"/trainer/rounds/{rnd.id}/manage").get_data(as_text=True)
    assert "Already seen by" in page
    fresh = page[page.index('id="fresh-anchors"') : page.index("</table>", page.index('id="fresh-anchors"'))]
    assert "Fresh anchors left for the assigned assessors, per criterion and key level" in fresh
    # The second criterion's counts per level: anchors 2 to 5 are fresh (Asha has read anchor 1's key).
    keys = [world.keys[a][1] for a in world.anchors[1:]]
    row = re.search(r'<th scope="row">[^<]*</th>((?:\s*<td[^>]*>.*?</td>)+)', fresh.split("</tr>")[2])
    assert row is not None
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]
    assert cells == [str(keys.count(level)) for level in world.levels]
    before = rounds_written(db)
    picked = [str(world.anchors[1]), str(world.anchors[0])]
    resp = act(client, rnd.id, "anchors", {"anchor_ids": picked})
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "“Anchor 1” has already been seen by Asha Assessor: a calibration round" in text
    assert re.search(rf'value="{world.anchors[1]}"[^>]*checked', text)  # the pick is kept
    assert rounds_written(db) == before


# ------------------------------------------------------------------------------------- access
def test_assessors_and_other_programs_get_404_on_every_round_admin_url(app, world, db):
    draft = service.create_round(
        db,
        trainer(world),
        program_id=world.program_a,
        name="Draft",
        kind="calibration",
        rubric_version_id=world.rubric_id,
        opens_at=utcnow(),
        closes_at=utcnow() + DAY,
        pass_rule=service.default_pass_rule(db, world.program_a),
        assessor_ids=[world.ids["assessor"]],
    )
    db.commit()
    posts = {
        "anchors": {"anchor_ids": [str(world.anchors[0])]},
        "anchors/auto": {"target": "5"},
        "assessors": {"assessor_ids": [str(world.ids["assessor2"])]},
        "window": {
            "opens_date": "2099-01-01",
            "opens_time": "10:00",
            "closes_date": "2099-01-02",
            "closes_time": "10:00",
        },
        "open": {},
        "extend": {"closes_date": "2099-01-01", "closes_time": "10:00"},
        "close": {},
    }
    before = rounds_written(db)
    for who, token_page in (("assessor", "/dashboard"), ("trainer_b", "/trainer/")):
        client = client_as(app, world.emails[who])
        for round_id in (world.round_id, draft.id):
            assert client.get(f"/trainer/rounds/{round_id}/manage").status_code == 404, who
            for action, data in posts.items():
                url = f"/trainer/rounds/{round_id}/{action}"
                resp = post_form(client, url, data, token_page=token_page)
                assert resp.status_code == 404, f"{who} POST {url}: {resp.status_code}"
    assert client_as(app, world.emails["assessor"]).get("/trainer/rounds/new").status_code == 404
    # Another program's trainer creating a round with program A's rubric and people: refused.
    client = client_as(app, world.emails["trainer_b"])
    resp = post_form(client, "/trainer/rounds/new", new_round_data(world))
    assert resp.status_code == 400
    assert rounds_written(db) == before


def test_a_post_without_csrf_token_is_refused(app, world, db):
    client = client_as(app, world.emails["trainer"])
    before = rounds_written(db)
    assert client.post(f"/trainer/rounds/{world.round_id}/close").status_code == 400
    assert rounds_written(db) == before


# ------------------------------------------------------------------------- the assessor's window
def open_via_web(app: Any, world: Any, db: Any, *, opens_in: dt.timedelta) -> Round:
    client = client_as(app, world.emails["trainer"])
    start = utcnow().replace(second=0, microsecond=0) + opens_in
    (od, ot), (cd, ct) = stamp(start), stamp(start + 7 * DAY)
    rnd = create(
        client, world, db, name="Windowed round", opens_date=od, opens_time=ot, closes_date=cd, closes_time=ct
    )
    assert act(client, rnd.id, "anchors", {"anchor_ids": [str(a) for a in world.anchors]}).status_code == 302
    assert act(client, rnd.id, "open").status_code == 302
    db.rollback()
    return db.get(Round, rnd.id)


def test_before_its_window_a_round_is_404_and_not_on_the_dashboard(app, world, db):
    rnd = open_via_web(app, world, db, opens_in=2 * DAY)
    assert rnd.status == RoundStatus.OPEN
    assessor = client_as(app, world.emails["assessor2"])
    assert assessor.get(f"/rounds/{rnd.id}").status_code == 404
    assert assessor.get(f"/rounds/{rnd.id}/anchors/{world.anchors[0]}").status_code == 404
    resp = post_form(
        assessor,
        f"/rounds/{rnd.id}/anchors/{world.anchors[0]}",
        score_form(world, [1] * 5),
        token_page="/dashboard",
    )
    assert resp.status_code == 404
    assert "Windowed round" not in assessor.get("/dashboard").get_data(as_text=True)
    # Once the window starts, the same round is there.
    db.rollback()  # a fresh snapshot before writing (SQLite refuses to upgrade a stale one)
    rnd = db.get(Round, rnd.id)
    rnd.opens_at = utcnow() - HOUR
    db.commit()
    assert "Windowed round" in assessor.get("/dashboard").get_data(as_text=True)
    assert assessor.get(f"/rounds/{rnd.id}").status_code == 200
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_a_draft_is_404_even_inside_its_window(app, world, db):
    client = client_as(app, world.emails["trainer"])
    rnd = create(client, world, db, name="Draft in window")
    assessor = client_as(app, world.emails["assessor2"])
    assert assessor.get(f"/rounds/{rnd.id}").status_code == 404
    assert "Draft in window" not in assessor.get("/dashboard").get_data(as_text=True)


def assert_read_only(app: Any, world: Any, db: Any, round_id: int) -> None:
    """The assessor still sees the round and their feedback, but scoring is refused."""
    assessor = client_as(app, world.emails["assessor2"])
    page = assessor.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "This round is not open for scoring now." in page
    assert "to score" not in page
    url = f"/rounds/{round_id}/anchors/{world.anchors[0]}"
    resp = post_form(assessor, url, score_form(world, world.keys[world.anchors[0]]), token_page="/dashboard")
    assert resp.status_code == 400
    assert "This round is not open for scoring now." in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    assert re.search(r'badge-closed">closed', assessor.get("/dashboard").get_data(as_text=True))


def test_after_the_window_closes_the_round_is_read_only(app, world, db):
    rnd = db.get(Round, world.round_id)
    rnd.opens_at, rnd.closes_at = utcnow() - 9 * DAY, utcnow() - DAY
    db.commit()
    assert_read_only(app, world, db, world.round_id)


def test_a_round_closed_by_the_trainer_is_read_only(app, world, db):
    client = client_as(app, world.emails["trainer"])
    assert act(client, world.round_id, "close").status_code == 302
    assert_read_only(app, world, db, world.round_id)


def test_closed_status_is_read_only_even_before_the_window_ends(app, world, db):
    rnd = db.get(Round, world.round_id)
    rnd.status = RoundStatus.CLOSED
    db.commit()
    assert rnd.closes_at > utcnow()
    assert_read_only(app, world, db, world.round_id)


def test_manage_page_of_a_closed_round_offers_no_changes(app, world, db):
    rnd = db.get(Round, world.round_id)
    rnd.status = RoundStatus.CLOSED
    db.commit()
    page = (
        client_as(app, world.emails["trainer"])
        .get(f"/trainer/rounds/{world.round_id}/manage")
        .get_data(as_text=True)
    )
    assert "This round is closed." in page
    for action in ("open", "extend", "close", "anchors", "assessors", "window"):
        assert f'action="/trainer/rounds/{world.round_id}/{action}"' not in page
    rubric = db.get(RubricVersion, world.rubric_id)
    assert rubric.title in page
