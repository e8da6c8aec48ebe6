"""``send-reminders`` names the expiry in the recipient's zone (their own, else the program's),
with the zone named, in the subject and both bodies. Sent through a real SMTP sink."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import Membership, Program, User

from .conftest import html_of, text_of


def _expires_at(db, user_id: int, at: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    m = db.scalar(select(Membership).where(Membership.user_id == user_id))
    m.certified_at = at - dt.timedelta(days=365)
    m.certification_expires_at = at
    db.commit()


def test_expiry_mail_names_the_day_and_time_in_the_readers_zone(app, world, db, runner, smtp_sink):
    db.get(Program, world.program_a).timezone = "America/New_York"
    db.get(User, world.ids["assessor"]).timezone = "Asia/Tokyo"
    db.commit()
    # 22:05 UTC is already the next morning in Tokyo, and 17:05 or 18:05 the same day in New York.
    soon = (utcnow() + dt.timedelta(days=10)).replace(hour=22, minute=5, second=0, microsecond=0)
    gone = (utcnow() - dt.timedelta(days=2)).replace(hour=3, minute=5, second=0, microsecond=0)
    _expires_at(db, world.ids["assessor"], soon)  # reminder, in Tokyo time (their own zone)
    _expires_at(db, world.ids["assessor2"], gone)  # recalibration due, in New York time (the program's)
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output

    tokyo = soon.astimezone(ZoneInfo("Asia/Tokyo"))
    [reminder] = smtp_sink.to(world.emails["assessor"])
    assert reminder["Subject"] == f"Your assessor certification expires on {tokyo:%-d %B %Y}"
    for body in (text_of(reminder), html_of(reminder)):
        assert f"{tokyo:%-d %B %Y} at 07:05 JST" in body, body
        assert "22:05" not in body and "UTC" not in body

    new_york = gone.astimezone(ZoneInfo("America/New_York"))
    [due] = smtp_sink.to(world.emails["assessor2"])
    for body in (text_of(due), html_of(due)):
        assert f"expired on {new_york:%-d %B %Y} at {new_york:%H:%M} {new_york.tzname()}" in body.replace(
            "<strong>", ""
        ).replace("</strong>", ""), body
        assert f"{gone:%-d %B %Y} at 03:05" not in body
