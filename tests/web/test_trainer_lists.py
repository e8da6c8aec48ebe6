"""The lead trainer's workspace of issue 17: the needs-attention queue and the calibration-only
trend on the overview, filtered and paged lists, program settings and the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from sqlalchemy import func, select, update

from calibration.db import utcnow
from calibration.models import (
    AuditEvent,
    CertificationStatus,
    Membership,
    Program,
    Round,
    RoundKind,
    RoundStatus,
    User,
)
from calibration.services import program_settings
from calibration.services.round_queries import default_pass_rule

from ..conftest import post_form
from ..factories_lists import fill_program
from ..factories_reports import add_assessors
from .test_trainer import rows, table


def _settings(db, program_id: int) -> str:  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(Program.settings_json).where(Program.id == program_id))


def _form(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The settings form as shown (every field with its value, and the fingerprint)."""
    from .test_security_input import post_forms

    [form] = [
        f for f in post_forms(client.get("/trainer/settings").get_data(as_text=True), "") if "seen" in str(f)
    ]
    return {name: value for name, _kind, value in form["fields"] if name != "csrf_token"}


# ------------------------------------------------------------------------------------- overview
def test_overview_counts_what_needs_attention_and_links_to_it(client, login, world, db):
    filled = fill_program(db, world, 20, tag="Queue")
    # Two certifications expire within the reminder window (30 days), one long after.
    soon, later = filled.assessors[:2], filled.assessors[2]
    db.execute(
        update(Membership)
        .where(Membership.user_id.in_(soon))
        .values(certification_expires_at=utcnow() + dt.timedelta(days=10))
    )
    db.execute(
        update(Membership)
        .where(Membership.user_id == later)
        .values(certification_expires_at=utcnow() + dt.timedelta(days=200))
    )
    # The world's open round closes in 7 days; its two assessors have not scored 5 anchors each,
    # and the 20 assessors' first-anchor sheets do not count (they are not assigned to it).
    db.commit()
    login(world.emails["trainer"])
    page = client.get("/trainer/overview").get_data(as_text=True)
    counts = {
        key: int(_between(page, f'id="attention-{key}"', "</li>").split('attention-count">')[1].split("<")[0])
        for key in ("flags", "challenges", "anchors", "session", "expiring", "closing")
    }
    assert counts == {
        "flags": 10,  # fill_program: every other flag is open
        "challenges": 10,
        "anchors": 2,  # a wait per ten assessors
        "session": 1,  # two pending recalibrations, one of them booked into an upcoming session
        "expiring": 2,
        "closing": 1,
    }
    assert 'href="/trainer/flags?status=open"' in page
    assert 'href="/trainer/challenges?status=open"' in page
    closing = _between(page, 'id="attention-closing"', "</li></ul>")
    assert "Open round" in closing and "10 of 10 sheets missing" in closing
    horizon = (utcnow() + dt.timedelta(days=30)).date().isoformat()
    expiring = client.get(f"/trainer/people?status=certified&to={horizon}").get_data(as_text=True)
    assert [r[0] for r in rows(table(expiring, "people-table"))] == [
        "Queue certified 000",
        "Queue certified 001",
    ]


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_overview_trend_shows_calibration_rounds_and_groups_the_others(client, login, world, db):
    now = utcnow()
    practice = Round(
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        name="Practice",
        kind=RoundKind.PRACTICE,
        status=RoundStatus.OPEN,
        opens_at=now - dt.timedelta(days=3),
        closes_at=now + dt.timedelta(days=3),
        pass_rule_json="{}",
    )
    draft = Round(
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        name="Next calibration",
        kind=RoundKind.CALIBRATION,
        status=RoundStatus.DRAFT,
        opens_at=now + dt.timedelta(days=30),
        closes_at=now + dt.timedelta(days=44),
        pass_rule_json="{}",
    )
    db.add_all([practice, draft])
    db.flush()
    from calibration.models import Assignment

    db.add(Assignment(round_id=practice.id, user_id=world.ids["assessor2"]))
    db.commit()
    login(world.emails["trainer"])
    page = client.get("/trainer/overview").get_data(as_text=True)
    assert [r[0] for r in rows(table(page, "alpha-table"))] == ["Open round"]
    other = {r[0]: r for r in rows(table(page, "other-rounds-table"))}
    assert set(other) == {"practice", "calibration (draft)"}
    assert "Practice: Analyzing Time, Ben Second" in other["practice"][3]
    assert "Next calibration" in other["calibration (draft)"][3]


# ---------------------------------------------------------------------------------------- lists
def test_lists_filter_search_and_page_and_keep_what_was_typed(client, login, world, db):
    fill_program(db, world, 120, tag="Listed")
    login(world.emails["trainer"])
    people = client.get("/trainer/people").get_data(as_text=True)
    assert "Showing 1–50 of 122 assessors." in people
    assert 'href="/trainer/people?page=2"' in people
    third = client.get("/trainer/people?page=3").get_data(as_text=True)
    assert "Showing 101–122 of 122 assessors." in third and 'rel="next"' not in third
    training = client.get("/trainer/people?status=in_training&q=LISTED").get_data(as_text=True)
    names = [r[0] for r in rows(table(training, "people-table"))]
    assert len(names) == 24 and all(n.startswith("Listed training") for n in names)
    assert 'value="LISTED"' in training and '<option value="in_training" selected>' in training
    rounds = client.get("/trainer/?kind=practice&status=open").get_data(as_text=True)
    shown = rows(table(rounds, "rounds-table"))
    assert shown and all(r[1] == "practice" and r[3] == "open" for r in shown)
    flag_page = client.get("/trainer/flags?status=open&kind=drift").get_data(as_text=True)
    assert "Showing 1–50 of 60 flags matching the filters." in flag_page
    assert 'href="/trainer/flags?status=open&amp;kind=drift&amp;page=2"' in flag_page  # the pager keeps them
    assert all(r[2] == "drift" and r[-1] == "open" for r in rows(table(flag_page, "flags-table")))
    challenges = client.get("/trainer/challenges?status=key_stands").get_data(as_text=True)
    assert "Showing 1–50 of 60 key challenges matching the filters." in challenges
    assert {r[-1] for r in rows(table(challenges, "challenges-table"))} == {"key stands"}
    sessions = client.get("/trainer/sessions?status=cancelled&q=listed").get_data(as_text=True)
    assert all(r[-1] == "cancelled" for r in rows(table(sessions, "sessions-table")))
    anchors = client.get(f"/trainer/anchors?kind=practice&rubric={world.rubric_id}").get_data(as_text=True)
    assert all(r[2] == "practice" for r in rows(table(anchors, "anchors-table")))
    today = utcnow().date()
    dated = client.get(f"/trainer/?from={today - dt.timedelta(days=3)}&to={today}").get_data(as_text=True)
    assert "Showing 1–" in dated and "matching the filters" in dated


def test_bad_filters_get_a_plain_message_never_an_error(client, login, world):
    login(world.emails["trainer"])
    for url, message in (
        ("/trainer/people?status=sleeping", "“sleeping” is not a status this list knows"),
        ("/trainer/?kind=exam", "“exam” is not a kind this list knows"),
        ("/trainer/anchors?rubric=99999", "is not a rubric of this program"),
        ("/trainer/flags?from=31/12/2026", "write it as year-month-day"),
        ("/trainer/challenges?from=2026-05-01&to=2026-01-01", "“From” is after “to”"),
        ("/trainer/sessions?page=-4", "is not a page number"),
        ("/trainer/people?q=%00x", "control characters"),
        ("/trainer/audit?action=nope&from=tomorrow", "“nope” is not a recorded action this list knows"),
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert message in resp.get_data(as_text=True).replace("&#34;", '"'), url
    # A page past the last shows the last one.
    assert "Showing 1–2 of 2 assessors." in client.get("/trainer/people?page=40").get_data(as_text=True)


# ------------------------------------------------------------------------------------- settings
def test_settings_form_has_a_field_for_every_rule_of_the_policy(client, login, world):
    login(world.emails["trainer"])
    fields = _form(client)
    assert {s.field for s in program_settings.SETTINGS} <= set(fields)
    assert {s.path for s in program_settings.SETTINGS} == program_settings.every_rule()
    assert fields["pass_rule__min_exact"] == "70" and fields["drift__auto_recalibrate"] == "no"


def test_bad_settings_get_clear_messages_and_change_nothing(client, login, world, db):
    login(world.emails["trainer"])
    before = _settings(db, world.program_a)
    fields = _form(client)
    for name, value, message in (
        (
            "pass_rule__min_exact",
            "seventy",
            "Exact agreement with the key, at least (%): “seventy” is not a number.",
        ),
        ("pass_rule__min_exact", "120", "must be at most 100"),
        ("pass_rule__min_anchors", "0", "Minimum evidence: anchors: must be at least 1."),
        ("certification_days", "36.5", "Certification lasts (days): enter a whole number."),
        ("reminder_days_before_expiry", "400", "must be fewer days than the certification lasts"),
        ("drift__ewma_lambda", "0", "must be more than 0"),
        ("drift__budget_drift_overall", "4.9", "add up to more than"),
        ("drift__auto_recalibrate", "maybe", "Not a valid choice"),
        ("drift__drift_k", "", "enter a value"),
    ):
        resp = post_form(client, "/trainer/settings", {**fields, name: value})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 400, (name, value)
        assert 'class="error-summary"' in page and "There is a problem" in page
        assert message in page.replace("&#34;", '"').replace("&#39;", "'"), (name, value, message)
        if value and name != "drift__auto_recalibrate":
            assert f'value="{value}"' in page  # what was typed is kept
        assert _settings(db, world.program_a) == before
    db.rollback()
    changed = db.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "program.settings_changed")
    )
    assert changed == 0


def test_a_settings_change_is_audited_and_applies_to_new_rounds_only(client, login, world, db):
    login(world.emails["trainer"])
    old_rule = db.scalar(select(Round.pass_rule_json).where(Round.id == world.round_id))
    fields = _form(client)
    resp = post_form(
        client,
        "/trainer/settings",
        {
            **fields,
            "pass_rule__min_exact": "80",
            "drift__auto_recalibrate": "yes",
            "drift__budget_total": "6",
        },
    )
    assert resp.status_code == 302
    page = client.get("/trainer/settings").get_data(as_text=True)
    assert "Saved 3 changes" in page
    db.rollback()
    stored = json.loads(_settings(db, world.program_a))
    assert stored["pass_rule"]["min_exact"] == 0.8
    assert stored["drift"]["auto_recalibrate"] is True and stored["drift"]["budget_total"] == 0.06
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "program.settings_changed"))
    assert event is not None and event.actor_id == world.ids["trainer"] and event.request_id
    assert json.loads(event.detail_json)["changes"] == {
        "pass_rule.min_exact": {"old": 0.7, "new": 0.8},
        "drift.auto_recalibrate": {"old": False, "new": True},
        "drift.budget_total": {"old": 0.05, "new": 0.06},
    }
    # The open round keeps its rule; a new round gets the new one.
    assert db.scalar(select(Round.pass_rule_json).where(Round.id == world.round_id)) == old_rule
    assert default_pass_rule(db, world.program_a)["min_exact"] == 0.8
    # Posting the same values again changes nothing and writes nothing.
    post_form(client, "/trainer/settings", _form(client))
    assert "Nothing was different" in client.get("/trainer/settings").get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).where(AuditEvent.action == "program.settings_changed")) == 1


def test_a_settings_form_posted_over_a_change_made_meanwhile_is_refused(client, login, world, db):
    login(world.emails["trainer"])
    fields = _form(client)
    db.execute(
        update(Program)
        .where(Program.id == world.program_a)
        .values(settings_json='{"certification_days": 200}')
    )
    db.commit()
    resp = post_form(client, "/trainer/settings", {**fields, "pass_rule__min_exact": "75"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Someone changed the settings while you were editing" in page
    assert 'value="200"' in page  # the form now shows what is in force
    assert json.loads(_settings(db, world.program_a)) == {"certification_days": 200}


# ------------------------------------------------------------------------------------ audit log
def test_audit_log_filters_pages_and_shows_the_chain_and_request_ids(client, login, world, db):
    login(world.emails["trainer"])
    post_form(client, "/trainer/settings", {**_form(client), "certification_days": "300"})
    login(world.emails["admin"])
    page = client.get("/trainer/audit").get_data(as_text=True)
    assert "The audit trail is intact." in page
    lines = rows(table(page, "audit-table"))
    assert lines[0][3] == "login" and lines[0][2] == "Admin (admin@a.test)"
    setting = client.get("/trainer/audit?action=program.settings_changed").get_data(as_text=True)
    [line] = rows(table(setting, "audit-table"))
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "program.settings_changed"))
    assert line[0] == str(event.id) and line[6] == event.request_id and "certification_days" in line[7]
    by_actor = client.get("/trainer/audit?actor=trainer@a").get_data(as_text=True)
    assert {r[2] for r in rows(table(by_actor, "audit-table"))} == {"Trainer (trainer@a.test)"}
    by_object = client.get(f"/trainer/audit?object_type=program&object_id={world.program_a}").get_data(
        as_text=True
    )
    assert {r[4] for r in rows(table(by_object, "audit-table"))} == {f"program {world.program_a}"}
    future = (utcnow() + dt.timedelta(days=2)).date().isoformat()
    assert "No audit rows match these filters." in client.get(f"/trainer/audit?from={future}").get_data(
        as_text=True
    )
    # Another program's rows never show.
    assert "trainer@b.test" not in page


def test_audit_log_pages_through_many_rows(client, login, world, db):
    from calibration.models import Role
    from calibration.services import audit
    from calibration.services.context import Member

    me = Member(world.ids["trainer"], world.program_a, Role.LEAD_TRAINER, "req-bulk")
    for i in range(120):
        audit.record(db, me, "test.bulk", object_type="anchor", object_id=i)
    db.commit()
    login(world.emails["trainer"])
    first = client.get("/trainer/audit?action=test.bulk").get_data(as_text=True)
    assert "Showing 1–50 of 120 audit rows matching the filters." in first
    assert 'href="/trainer/audit?action=test.bulk&amp;page=2"' in first
    third = client.get("/trainer/audit?action=test.bulk&page=3").get_data(as_text=True)
    assert [r[4] for r in rows(table(third, "audit-table"))][-1] == "anchor 0"


def test_audit_csv_is_formula_safe_and_follows_the_filters(client, login, world, db):
    db.execute(update(User).where(User.id == world.ids["trainer"]).values(name="=HYPERLINK(1)"))
    db.commit()
    login(world.emails["trainer"])
    resp = client.get("/trainer/audit/export.csv?action=login")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == list(program_settings_columns())
    assert lines[1][2].startswith("'=HYPERLINK(1)") and lines[1][3] == "login"
    assert all(line[3] == "login" for line in lines[1:])
    db.rollback()
    assert db.scalar(select(func.count()).where(AuditEvent.action == "export.csv")) == 1


def program_settings_columns() -> tuple[str, ...]:
    from calibration.services.audit_log import AUDIT_COLUMNS

    return AUDIT_COLUMNS


def test_certification_statuses_are_all_filterable(client, login, world, db):
    add_assessors(db, world.program_a, 3, prefix="Due", status=CertificationStatus.RECALIBRATION_DUE)
    login(world.emails["trainer"])
    page = client.get("/trainer/people?status=recalibration_due").get_data(as_text=True)
    assert [r[0] for r in rows(table(page, "people-table"))] == ["Due 000", "Due 001", "Due 002"]


# ----------------------------------------------------------------------------- new-round groups
def test_a_new_round_takes_whole_groups_of_assessors_by_status(app, client, login, world, db):
    from .test_trainer_rounds_admin import create, new_round_data

    due = add_assessors(db, world.program_a, 3, prefix="Due", status=CertificationStatus.RECALIBRATION_DUE)
    training = add_assessors(db, world.program_a, 2, prefix="New", status=CertificationStatus.IN_TRAINING)
    certified = add_assessors(db, world.program_a, 4, prefix="Cert")
    login(world.emails["trainer"])
    page = client.get("/trainer/rounds/new").get_data(as_text=True)
    assert "certified (6 assessors)" in page and "due for recalibration (3 assessors)" in page
    rnd = create(client, world, db, groups=["certified"], assessor_ids=[str(due[0])])
    chosen = {a.user_id for a in rnd.assignments}
    assert chosen == {world.ids["assessor"], world.ids["assessor2"], *certified, due[0]}
    assert not chosen & set(training)
    # Nothing ticked at all: the same message as before, nothing written.
    resp = post_form(client, "/trainer/rounds/new", new_round_data(world, assessor_ids=[], groups=[]))
    assert resp.status_code == 400 and "Choose at least one assessor." in resp.get_data(as_text=True)
    bad = post_form(client, "/trainer/rounds/new", new_round_data(world, groups=["everyone"]))
    assert bad.status_code == 400 and "everyone&#39; is not a valid choice" in bad.get_data(as_text=True)


def test_the_chain_check_is_reused_until_the_trail_changes_or_a_recheck(client, login, world, db):
    from calibration.services import audit, audit_log
    from calibration.services.context import SystemActor

    audit_log.clear_chain_cache()
    first = audit_log.chain_status(db)
    assert first.check.ok and audit_log.chain_status(db) is first
    assert audit_log.chain_status(db, recheck=True) is not first
    later = first.checked_at + audit_log.CHAIN_CHECK_MAX_AGE + dt.timedelta(minutes=1)
    assert audit_log.chain_status(db, now=later).checked_at == later
    audit.record(db, SystemActor(), "test.more", object_type="anchor", object_id=1)
    db.commit()
    grown = audit_log.chain_status(db, now=later)
    assert grown.check.checked == first.check.checked + 1
    login(world.emails["trainer"])
    page = client.get("/trainer/audit?recheck=1").get_data(as_text=True)
    assert f"Every one of its {first.check.checked + 2} rows" in page  # with the trainer's login
    assert 'href="/trainer/audit?recheck=1"' in page
