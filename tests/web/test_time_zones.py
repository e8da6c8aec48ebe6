"""Time zones on the web: the program's zone on the settings page, round windows and sessions typed
in it and stored UTC (skipped and repeated times refused), an assessor's own zone, and every trainer
and assessor page showing times in the reader's zone with the zone named."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import AuditEvent, Program, RecalibrationSession, Round, User
from calibration.services.calendar import feed_ics

from ..conftest import post_form
from .test_security_headers import get_urls
from .test_trainer_lists import _form as settings_form
from .test_trainer_rounds_admin import client_as, new_round_data, rounds_written

NEW_YORK = "America/New_York"


def _zone(db: Any, program_id: int) -> str:
    db.rollback()
    return db.scalar(select(Program.timezone).where(Program.id == program_id))


def _set_zone(db: Any, program_id: int, name: str) -> None:
    db.get(Program, program_id).timezone = name
    db.commit()


def _audits(db: Any, action: str) -> list[AuditEvent]:
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# ------------------------------------------------------------------------------------- settings
def test_existing_programs_are_in_utc_and_the_settings_form_shows_the_zone(client, login, world, db):
    assert _zone(db, world.program_a) == "UTC"
    login(world.emails["trainer"])
    assert settings_form(client)["timezone"] == "UTC"


def test_a_bad_zone_name_gets_a_clear_message_and_changes_nothing(client, login, world, db):
    login(world.emails["trainer"])
    fields = settings_form(client)
    for typed, message in (
        ("Europe/Londn", "Time zone: “Europe/Londn” is not a time zone name we know."),
        ("EST5EDT; DROP", "is not a time zone name we know"),
        ("", "Time zone: enter a time zone name"),
        ("x" * 65, "at most 64 characters"),
    ):
        resp = post_form(client, "/trainer/settings", {**fields, "timezone": typed})
        page = html.unescape(resp.get_data(as_text=True))
        assert resp.status_code == 400, typed
        assert "There is a problem" in page and message in page, (typed, message)
        if typed:
            assert f'value="{typed}"' in page  # what was typed is kept
    assert _zone(db, world.program_a) == "UTC"
    assert _audits(db, "program.settings_changed") == []


def test_a_zone_change_is_saved_and_audited_with_old_and_new(client, login, world, db):
    login(world.emails["trainer"])
    resp = post_form(client, "/trainer/settings", {**settings_form(client), "timezone": " Pacific/Auckland "})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert "Saved 1 change (Time zone)" in client.get("/trainer/settings").get_data(as_text=True)
    assert _zone(db, world.program_a) == "Pacific/Auckland"
    [event] = _audits(db, "program.settings_changed")
    assert json.loads(event.detail_json)["changes"] == {"timezone": {"old": "UTC", "new": "Pacific/Auckland"}}
    # A form filled before the change is refused rather than silently undoing it.
    stale = {**settings_form(client), "seen": "0" * 16, "timezone": "UTC"}
    assert post_form(client, "/trainer/settings", stale).status_code == 400
    assert _zone(db, world.program_a) == "Pacific/Auckland"


# ---------------------------------------------------------------------------------------- rounds
def test_a_round_window_typed_in_the_program_zone_stores_the_right_utc(app, world, db):
    _set_zone(db, world.program_a, NEW_YORK)
    client = client_as(app, world.emails["trainer"])
    page = client.get("/trainer/rounds/new").get_data(as_text=True)
    assert "Opens on (date, America/New_York)" in page
    year = utcnow().year + 1
    # Opens in winter (EST, -5), closes after the spring-forward change (EDT, -4).
    data = new_round_data(
        world,
        opens_date=f"{year}-03-01",
        opens_time="09:00",
        closes_date=f"{year}-03-20",
        closes_time="17:30",
    )
    resp = post_form(client, "/trainer/rounds/new", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.rollback()
    rnd = db.scalar(select(Round).order_by(Round.id.desc()).limit(1))
    assert rnd.opens_at == dt.datetime(year, 3, 1, 14, 0, tzinfo=dt.UTC)
    assert rnd.closes_at == dt.datetime(year, 3, 20, 21, 30, tzinfo=dt.UTC)
    # Read back in the same zone, on the page and in the window form.
    manage = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"{year}-03-01 09:00 EST to {year}-03-20 17:30 EDT" in manage
    assert f'value="{year}-03-01"' in manage and 'value="09:00"' in manage


def test_a_window_time_the_clocks_skip_or_repeat_is_refused_on_the_form(app, world, db):
    _set_zone(db, world.program_a, NEW_YORK)
    client = client_as(app, world.emails["trainer"])
    before = rounds_written(db)
    # 2027: clocks go forward on 14 March at 02:00 and back on 7 November at 02:00.
    for field, day, time, message in (
        ("opens", "2027-03-14", "02:30", "02:30 on 14 March 2027 does not exist in America/New_York"),
        ("closes", "2027-11-07", "01:15", "01:15 on 7 November 2027 happens twice in America/New_York"),
    ):
        data = new_round_data(
            world, opens_date="2027-03-01", opens_time="09:00", closes_date="2027-12-01", closes_time="09:00"
        )
        data.update({f"{field}_date": day, f"{field}_time": time})
        resp = post_form(client, "/trainer/rounds/new", data)
        page = html.unescape(resp.get_data(as_text=True))
        assert resp.status_code == 400 and message in page, page[-3000:]
        assert f'value="{day}"' in page and f'value="{time}"' in page
    assert rounds_written(db) == before


def test_extending_a_round_reads_the_new_close_in_the_program_zone(app, world, db):
    _set_zone(db, world.program_a, "Europe/London")
    client = client_as(app, world.emails["trainer"])
    year = utcnow().year + 1
    resp = post_form(
        client,
        f"/trainer/rounds/{world.round_id}/extend",
        {"closes_date": f"{year}-07-01", "closes_time": "12:00"},
        token_page=f"/trainer/rounds/{world.round_id}/manage",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert f"it now closes {year}-07-01 12:00 BST" in client.get(resp.headers["Location"]).get_data(
        as_text=True
    )
    db.rollback()
    assert db.get(Round, world.round_id).closes_at == dt.datetime(year, 7, 1, 11, 0, tzinfo=dt.UTC)


# -------------------------------------------------------------------------------------- sessions
def _session_fields(world: Any, day: str, time: str, zone: str) -> dict[str, str]:
    return {
        "title": "Autumn recalibration", "date": day, "time": time, "timezone": zone,
        "duration_minutes": "60", "location": "Room 2", "trainer_id": str(world.ids["trainer"]),
        "capacity": "4",
    }  # fmt: skip


def test_a_session_is_offered_in_the_program_zone_and_stored_utc(app, world, db):
    _set_zone(db, world.program_a, "Pacific/Auckland")
    client = client_as(app, world.emails["trainer"])
    form_page = client.get("/trainer/sessions").get_data(as_text=True)
    assert re.search(
        r'name="timezone"[^>]*value="Pacific/Auckland"|value="Pacific/Auckland"[^>]*name="timezone"',
        form_page,
    )
    year = utcnow().year + 1
    resp = post_form(
        client, "/trainer/sessions", _session_fields(world, f"{year}-01-15", "10:00", "Pacific/Auckland")
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.rollback()
    row = db.scalar(select(RecalibrationSession))
    assert (
        row.starts_at == dt.datetime(year, 1, 14, 21, 0, tzinfo=dt.UTC) and row.timezone == "Pacific/Auckland"
    )
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"15 January {year}, 10:00 NZDT" in page
    # The trainer's calendar feed carries the session in its own zone (TZID), at the typed wall time.
    feed = feed_ics(db, db.get(User, world.ids["trainer"])).decode()
    assert f"DTSTART;TZID=Pacific/Auckland:{year}0115T100000" in feed.replace("\r\n ", "")


def test_a_session_time_the_clocks_skip_is_refused_and_nothing_is_stored(app, world, db):
    client = client_as(app, world.emails["trainer"])
    resp = post_form(
        client, "/trainer/sessions", _session_fields(world, "2027-03-28", "01:30", "Europe/London")
    )
    page = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    assert "01:30 on 28 March 2027 does not exist in Europe/London" in page
    assert 'value="Room 2"' in page
    db.rollback()
    assert db.scalar(select(func.count()).select_from(RecalibrationSession)) == 0


# ------------------------------------------------------------------------------- the assessor
def test_an_assessor_reads_times_in_their_own_zone_once_set(app, world, db):
    _set_zone(db, world.program_a, NEW_YORK)
    rnd = db.get(Round, world.round_id)
    rnd.closes_at = dt.datetime(utcnow().year + 1, 1, 10, 17, 0, tzinfo=dt.UTC)
    db.commit()
    client = client_as(app, world.emails["assessor"])
    page = client.get(f"/rounds/{world.round_id}").get_data(as_text=True)
    assert "12:00 EST" in page  # the program's zone until they choose one
    form = client.get("/account/time-zone").get_data(as_text=True)
    assert "Your pages show times in America/New_York" in form

    bad = post_form(client, "/account/time-zone", {"timezone": "Mars/Base"})
    assert bad.status_code == 400
    assert "“Mars/Base” is not a time zone name we know" in html.unescape(bad.get_data(as_text=True))
    assert 'value="Mars/Base"' in bad.get_data(as_text=True)
    db.rollback()
    assert db.get(User, world.ids["assessor"]).timezone is None

    assert post_form(client, "/account/time-zone", {"timezone": "Asia/Tokyo"}).status_code == 302
    page = client.get(f"/rounds/{world.round_id}").get_data(as_text=True)
    assert "02:00 JST" in page and "12:00 EST" not in page
    [event] = _audits(db, "user.timezone_changed")
    assert json.loads(event.detail_json) == {"old": None, "new": "Asia/Tokyo"}
    # The trainer keeps reading the program's zone.
    trainer = client_as(app, world.emails["trainer"])
    assert "12:00 EST" in trainer.get(f"/trainer/rounds/{world.round_id}/manage").get_data(as_text=True)
    # Emptying the field goes back to the program's zone.
    assert post_form(client, "/account/time-zone", {"timezone": ""}).status_code == 302
    db.rollback()
    assert db.get(User, world.ids["assessor"]).timezone is None


# ----------------------------------------------------------------------------------- the crawl
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_NAMED = re.compile(r"\s*(?:EST|EDT|\(America/New_York\))")


def _text(page: str) -> str:
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_no_trainer_or_assessor_page_shows_a_time_in_utc_without_saying_so(app, world, db):
    """A program in New York; a round window at known UTC instants (minutes 17 and 43, found nowhere
    else). Every GET page a trainer or an assessor can open shows the local times, each with its
    zone named, and never the UTC clock readings."""
    _set_zone(db, world.program_a, NEW_YORK)
    today = utcnow().date()
    opens = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(13, 17), tzinfo=dt.UTC)
    closes = dt.datetime.combine(today + dt.timedelta(days=9), dt.time(20, 43), tzinfo=dt.UTC)
    rnd = db.get(Round, world.round_id)
    rnd.opens_at, rnd.closes_at = opens, closes
    db.commit()
    local_close = closes.astimezone(ZoneInfo(NEW_YORK))
    utc_readings = ("13:17", "20:43")
    expected_local = f"{local_close:%H:%M} {local_close.tzname()}"

    seen_local: set[str] = set()
    checked = 0
    for who, prefixes in (
        ("trainer", ("trainer.", "api_tokens.", "account.")),
        ("assessor", ("assessor.", "assessor_sessions.", "account.", "calendar.")),
    ):
        client = client_as(app, world.emails[who])
        for endpoint, url in get_urls(app, world):
            if not endpoint.startswith(prefixes):
                continue
            resp = client.get(url)
            if resp.status_code != 200 or resp.mimetype != "text/html":
                continue
            checked += 1
            text = _text(resp.get_data(as_text=True))
            for reading in utc_readings:
                assert reading not in text, (who, url, reading)
            assert not re.search(r"\d{1,2}:\d{2}(?::\d{2})? ?UTC\b", text), (who, url)
            for match in _CLOCK.finditer(text):
                assert _NAMED.match(text, match.end()), (
                    who,
                    url,
                    text[max(0, match.start() - 80) : match.end() + 40],
                )
            if expected_local in text:
                seen_local.add(f"{who}:{endpoint}")
    assert checked > 20
    assert "trainer:trainer.round_manage" in seen_local
    assert "assessor:assessor.round_page" in seen_local or "assessor:assessor.score" in seen_local, seen_local
