"""The days of the trainer lists' and the audit log's date filters are the reader's days: a
trainer of a program in New York filtering "from 7 December" gets what happened from 7 December
00:00 New York time (05:00 UTC) to the end of the "to" day there, on the page and in the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import select, update

from calibration.models import AuditEvent, Membership, Program, Role, Round
from calibration.services import audit, listing, timezones
from calibration.services.context import Member

from .test_trainer import rows, table

NEW_YORK = "America/New_York"
UTC = dt.UTC

# 7 December in New York (EST, UTC-5) runs from 05:00 UTC on the 7th to 05:00 UTC on the 8th.
LATE_ON_THE_6TH = dt.datetime(2026, 12, 7, 4, 59, tzinfo=UTC)  # 23:59 on 6 Dec in New York
LATE_ON_THE_7TH = dt.datetime(2026, 12, 8, 3, 0, tzinfo=UTC)  # 22:00 on 7 Dec in New York
EARLY_ON_THE_8TH = dt.datetime(2026, 12, 8, 5, 0, tzinfo=UTC)  # 00:00 on 8 Dec in New York


def _set_zone(db: Any, program_id: int, name: str) -> None:
    db.get(Program, program_id).timezone = name
    db.commit()


def _record_at(db: Any, monkeypatch: pytest.MonkeyPatch, world: Any, at: dt.datetime, label: str) -> int:
    """An audit row of program A written at ``at`` (the trail is append-only: its time is set as
    it is written)."""
    monkeypatch.setattr("calibration.services.audit.utcnow", lambda: at)
    me = Member(world.ids["trainer"], world.program_a, Role.LEAD_TRAINER, f"req-{label}")
    audit.record(db, me, "test.day", object_type="anchor", object_id=label)
    db.commit()
    monkeypatch.undo()
    return int(db.scalar(select(AuditEvent.id).where(AuditEvent.object_id == label)))


def _audit_ids(client: Any, query: str) -> list[str]:
    page = client.get(f"/trainer/audit?action=test.day&{query}").get_data(as_text=True)
    if "No audit rows match these filters." in page:
        return []
    return [r[0] for r in rows(table(page, "audit-table"))]


def _csv_ids(client: Any, query: str) -> list[str]:
    resp = client.get(f"/trainer/audit/export.csv?action=test.day&{query}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    return [line[0] for line in lines[1:]]


def test_the_audit_log_counts_days_in_the_program_zone_on_the_page_and_in_the_csv(
    client, login, world, db, monkeypatch
):
    _set_zone(db, world.program_a, NEW_YORK)
    before = _record_at(db, monkeypatch, world, LATE_ON_THE_6TH, "before")
    late = _record_at(db, monkeypatch, world, LATE_ON_THE_7TH, "late")
    after = _record_at(db, monkeypatch, world, EARLY_ON_THE_8TH, "after")
    login(world.emails["trainer"])
    for query, expected in (
        ("from=2026-12-07&to=2026-12-07", [late]),  # 03:00 UTC on the 8th is the 7th in New York
        ("from=2026-12-07", [after, late]),
        ("to=2026-12-07", [late, before]),
        ("from=2026-12-08&to=2026-12-08", [after]),
        ("from=2026-12-06&to=2026-12-06", [before]),
    ):
        want = [str(i) for i in expected]
        assert _audit_ids(client, query) == want, query
        assert _csv_ids(client, query) == want, query  # the download matches the page


def test_a_program_in_utc_keeps_utc_days(client, login, world, db, monkeypatch):
    late = _record_at(db, monkeypatch, world, LATE_ON_THE_7TH, "late")
    login(world.emails["trainer"])
    assert _audit_ids(client, "from=2026-12-08&to=2026-12-08") == [str(late)]
    assert _audit_ids(client, "from=2026-12-07&to=2026-12-07") == []


def test_the_rounds_and_people_lists_count_days_in_the_program_zone(client, login, world, db):
    _set_zone(db, world.program_a, NEW_YORK)
    db.execute(update(Round).where(Round.id == world.round_id).values(opens_at=LATE_ON_THE_7TH))
    db.execute(
        update(Membership)
        .where(Membership.user_id == world.ids["assessor"], Membership.program_id == world.program_a)
        .values(certification_expires_at=LATE_ON_THE_7TH)
    )
    db.commit()
    name = "Open round"
    login(world.emails["trainer"])

    def round_names(query: str) -> list[str]:
        page = client.get(f"/trainer/?{query}").get_data(as_text=True)
        return [r[0] for r in rows(table(page, "rounds-table"))] if 'id="rounds-table"' in page else []

    def people(query: str) -> list[str]:
        page = client.get(f"/trainer/people?{query}").get_data(as_text=True)
        return [r[0] for r in rows(table(page, "people-table"))] if 'id="people-table"' in page else []

    assert any(name in shown for shown in round_names("from=2026-12-07&to=2026-12-07"))
    assert not any(name in shown for shown in round_names("from=2026-12-08&to=2026-12-08"))
    assessor = "Asha Assessor"
    assert any(assessor in shown for shown in people("from=2026-12-07&to=2026-12-07"))
    assert not any(assessor in shown for shown in people("from=2026-12-08&to=2026-12-08"))


# ------------------------------------------------------------------------------ the service
def test_a_day_starts_at_local_midnight_even_when_the_clocks_change_that_night():
    assert timezones.day_start(dt.date(2026, 12, 7), NEW_YORK) == dt.datetime(2026, 12, 7, 5, tzinfo=UTC)
    assert timezones.day_start(dt.date(2026, 7, 7), NEW_YORK) == dt.datetime(2026, 7, 7, 4, tzinfo=UTC)
    assert timezones.day_start(dt.date(2026, 12, 7), "UTC") == dt.datetime(2026, 12, 7, tzinfo=UTC)
    # Havana skips midnight when its clocks go forward (8 March 2026: 00:00 becomes 01:00): the day
    # starts at the first instant that exists, 01:00 CDT, 05:00 UTC.
    assert timezones.day_start(dt.date(2026, 3, 8), "America/Havana") == dt.datetime(
        2026, 3, 8, 5, tzinfo=UTC
    )
    # An unknown name is UTC (the filter is read in the zone the page shows times in).
    assert timezones.day_start(dt.date(2026, 12, 7), "Mars/Base") == dt.datetime(2026, 12, 7, tzinfo=UTC)


def test_within_days_uses_the_filters_zone():
    f = listing.ListFilter(date_from=dt.date(2026, 12, 7), date_to=dt.date(2026, 12, 7), zone=NEW_YORK)
    low, high = listing.day_bounds(f)
    assert low == dt.datetime(2026, 12, 7, 5, tzinfo=UTC) and high == dt.datetime(2026, 12, 8, 5, tzinfo=UTC)
    assert listing.day_bounds(listing.ListFilter()) == (None, None)


def test_the_overview_counts_expiring_certifications_to_the_end_of_the_programs_day(client, login, world, db):
    """The queue's "expiring by <day>" count and its link to the people list agree: both end with
    the last day of the reminder window in the program's zone."""
    from calibration.db import utcnow
    from calibration.services.attention import needs_attention

    _set_zone(db, world.program_a, NEW_YORK)
    now = utcnow().replace(hour=15, minute=0, second=0, microsecond=0)  # the same date in New York
    counted = needs_attention(db, world.program_a, now=now, zone=NEW_YORK)
    last_day = counted.horizon_day
    assert last_day == (now + dt.timedelta(days=counted.reminder_days)).date()
    tz = timezones.zone(NEW_YORK)

    def expiring_if_it_expires_at(local: dt.datetime) -> int:
        db.execute(
            update(Membership)
            .where(Membership.user_id == world.ids["assessor"], Membership.program_id == world.program_a)
            .values(certification_expires_at=local.astimezone(UTC))
        )
        db.commit()
        return needs_attention(db, world.program_a, now=now, zone=NEW_YORK).expiring

    late_on_the_last_day = dt.datetime.combine(last_day, dt.time(23, 30), tzinfo=tz)  # 04:30 UTC next day
    early_the_day_after = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0, 30), tzinfo=tz)
    assert (
        expiring_if_it_expires_at(late_on_the_last_day) == expiring_if_it_expires_at(early_the_day_after) + 1
    )

    # The page's link asks the people list for the same last day, counted in the same zone.
    expiring_if_it_expires_at(utcnow() + dt.timedelta(days=1))
    login(world.emails["trainer"])
    page = client.get("/trainer/overview").get_data(as_text=True)
    shown_day = timezones.to_local(utcnow() + dt.timedelta(days=counted.reminder_days), NEW_YORK).date()
    assert f"/trainer/people?status=certified&amp;to={shown_day.isoformat()}" in page


def test_every_date_filter_names_the_zone_its_days_are_counted_in(client, login, world, db):
    _set_zone(db, world.program_a, NEW_YORK)
    login(world.emails["trainer"])
    for url in (
        "/trainer/",
        "/trainer/people",
        "/trainer/anchors",
        "/trainer/flags",
        "/trainer/challenges",
        "/trainer/sessions",
        "/trainer/audit",
    ):
        page = client.get(f"{url}?from=2026-12-07&to=2026-12-07").get_data(as_text=True)
        for field in ("from", "to"):
            label = page.split(f'<label for="filter-{field}">', 1)[1].split("</label>", 1)[0]
            assert "(year-month-day, America/New_York)" in label, (url, label)
