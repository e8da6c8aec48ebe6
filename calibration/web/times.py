"""Times on pages: one place decides the reader's time zone, and every template shows a time
through the filters registered here, so no page shows a bare UTC time.

- ``{{ value|when }}``: date and time in the reader's zone, the zone named ("14 Jul 2026 14:00 BST");
  ``{{ value|when('%-d %B %Y') }}`` with another date format, ``{{ value|clock }}`` the time alone.
- ``{{ value|day }}``: the date in the reader's zone.
- ``reader_zone()``: the IANA name the page uses (for a sentence saying so).

The reader's zone: trainers and admins read the program's zone (the zone its round windows and
sessions are entered in); an assessor reads their own zone when they set one, else the program's;
anyone else their own zone or UTC. Outside a request it is UTC. Mail does not use these: it is
read by someone other than whoever caused it, so it names its times in the recipient's zone
(:func:`calibration.services.timezones.reader_zone_of`).
The API and CSV exports do not use these: they stay ISO 8601 UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from flask import Flask, g, has_request_context

from ..models import Role
from ..services import timezones

DAY_FORMAT = "%-d %b %Y"


def program_zone() -> str:
    """The signed-in member's program's zone (UTC outside a program)."""
    membership = g.get("membership") if has_request_context() else None
    return membership.program.timezone if membership is not None else timezones.DEFAULT_ZONE


def reader_zone() -> str:
    """The zone the current page shows times in (see the module's docstring)."""
    if not has_request_context():
        return timezones.DEFAULT_ZONE
    cached: str | None = g.get("reader_zone")
    if cached is not None:
        return cached
    membership, user = g.get("membership"), g.get("user")
    own = user.timezone if user is not None else None
    if membership is not None and membership.role != Role.ASSESSOR:
        name = membership.program.timezone
    else:
        name = own or (membership.program.timezone if membership is not None else None)
    name = name if timezones.check_zone(name) is not None else timezones.DEFAULT_ZONE
    g.reader_zone = name
    return name


def _aware(value: dt.datetime) -> dt.datetime:
    # Stored times are aware UTC (UTCDateTime); a naive one can only be UTC computed in code.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def when(value: dt.datetime | None, date_format: str = DAY_FORMAT, *, seconds: bool = False) -> str:
    """Date and time in the reader's zone, the zone named ("—" for none)."""
    if value is None:
        return "—"
    time_format = "%H:%M:%S" if seconds else "%H:%M"
    return timezones.format_when(_aware(value), reader_zone(), date_format, time_format)


def clock(value: dt.datetime | None) -> str:
    """The time alone in the reader's zone, the zone named."""
    return "—" if value is None else timezones.format_when(_aware(value), reader_zone(), "")


def day(value: dt.date | None, date_format: str = DAY_FORMAT) -> str:
    """The date in the reader's zone (a calendar date is shown as it is)."""
    if value is None:
        return "—"
    if not isinstance(value, dt.datetime):
        return f"{value:{date_format}}"
    return timezones.format_day(_aware(value), reader_zone(), date_format)


SESSION_DAY_FORMAT = timezones.SESSION_DAY_FORMAT


class _Scheduled(Protocol):
    starts_at: dt.datetime
    timezone: str


def session_when(row: _Scheduled) -> str:
    """A session's start in the reader's zone, and in the session's own zone when that differs:
    "Tuesday 8 December 2026, 15:00 GMT (09:00 CST in America/Chicago, the session's zone)"
    (the same words as the session mail, :func:`calibration.services.timezones.format_session_start`)."""
    return timezones.format_session_start(
        _aware(row.starts_at), row.timezone, reader_zone(), SESSION_DAY_FORMAT
    )


def init_app(app: Flask) -> None:
    app.add_template_filter(when, "when")
    app.add_template_filter(clock, "clock")
    app.add_template_filter(day, "day")
    app.add_template_global(reader_zone, "reader_zone")
    app.add_template_global(session_when, "session_when")
