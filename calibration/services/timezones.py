"""Time zones: local wall-clock times typed in a zone become UTC instants, and UTC instants are
shown in the reader's zone with the zone named.

Programs and assessors name their zone by its IANA name (``Europe/London``). Everything is stored
in UTC (:class:`calibration.db.UTCDateTime`); conversion happens only at the edges, here.

Daylight saving time: a wall-clock time that does not exist (the hour skipped when clocks go
forward) or exists twice (the hour repeated when they go back) is refused with
:class:`LocalTimeProblem`, whose message says why, rather than guessed: a round window or a
session start must be one unmistakable instant.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "UTC"
ZONE_MAX_CHARS = 64
ZONE_HINT = "Use an IANA time zone name, such as Europe/London, America/New_York or UTC."


class LocalTimeProblem(ValueError):
    """A local date and time that is not one instant in its zone; ``str()`` says why, plainly."""


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (for a form's suggestions)."""
    return tuple(sorted(_known()))


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(name: str | None) -> ZoneInfo | None:
    """The zone called ``name`` (surrounding spaces ignored), or None when there is none by that name."""
    name = (name or "").strip()
    if not name or len(name) > ZONE_MAX_CHARS or name not in _known():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_problem(name: str | None) -> str | None:
    """A plain message when ``name`` is not a zone we know (None when it is)."""
    if check_zone(name) is not None:
        return None
    typed = (name or "").strip()
    if not typed:
        return f"Enter a time zone. {ZONE_HINT}"
    return f"“{typed[:ZONE_MAX_CHARS]}” is not a time zone name we know. {ZONE_HINT}"


def zone(name: str | None) -> ZoneInfo:
    """The zone called ``name``, or UTC when the name is empty or unknown (for showing times)."""
    return check_zone(name) or ZoneInfo(DEFAULT_ZONE)


def to_utc(day: dt.date, time: dt.time, zone_name: str) -> dt.datetime:
    """The UTC instant of the wall-clock ``day`` ``time`` in ``zone_name``.

    Raises :class:`LocalTimeProblem` when the zone is unknown, when the time falls in the gap the
    clocks skip (spring forward), or when it happens twice (fall back). Seconds are dropped.

    >>> to_utc(dt.date(2026, 7, 1), dt.time(14, 0), "Europe/London").isoformat()
    '2026-07-01T13:00:00+00:00'
    """
    tz = check_zone(zone_name)
    if tz is None:
        raise LocalTimeProblem(zone_problem(zone_name) or ZONE_HINT)
    wall = dt.datetime.combine(day, time.replace(second=0, microsecond=0, tzinfo=None))
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        shown = f"{wall:%H:%M} on {wall:%-d %B %Y}"
        back = first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        if back != wall:
            raise LocalTimeProblem(
                f"{shown} does not exist in {tz.key}: the clocks go forward then and skip that time. "
                "Choose a time outside the skipped hour."
            )
        raise LocalTimeProblem(
            f"{shown} happens twice in {tz.key}: the clocks go back then and repeat that time. "
            "Choose a time outside the repeated hour."
        )
    return first.astimezone(dt.UTC)


def day_start(day: dt.date, zone_name: str | None) -> dt.datetime:
    """The UTC instant a calendar ``day`` begins in ``zone_name`` (UTC for an unknown name): its
    local midnight, or the first time that exists when the clocks skip midnight that night. A
    filter "from 7 December to 7 December" is ``day_start(7 Dec) <= t < day_start(8 Dec)``.

    >>> day_start(dt.date(2026, 12, 7), "America/New_York").isoformat()
    '2026-12-07T05:00:00+00:00'
    """
    # fold=0 reads a skipped midnight with the offset in force before the change, which is the
    # instant the clocks jump: the first moment of the day.
    return dt.datetime.combine(day, dt.time(), tzinfo=zone(zone_name)).astimezone(dt.UTC)


def to_local(value: dt.datetime, zone_name: str | None) -> dt.datetime:
    """An aware instant as the wall clock of ``zone_name`` shows it (UTC for an unknown name)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given; times are stored as aware UTC")
    return value.astimezone(zone(zone_name))


def split_local(value: dt.datetime, zone_name: str | None) -> tuple[dt.date, dt.time]:
    """The local date and time (to the minute) of ``value`` in ``zone_name``: what a form shows."""
    local = to_local(value, zone_name)
    return local.date(), local.time().replace(second=0, microsecond=0, tzinfo=None)


def zone_label(local: dt.datetime) -> str:
    """How a local time names its zone: the abbreviation where the zone has a lettered one
    ("BST", "EST", "NZDT", "UTC"), else the IANA name in brackets ("(America/Sao_Paulo)"), never
    a bare offset that reads like a number."""
    abbreviation = local.tzname() or ""
    if abbreviation.isalpha():
        return abbreviation
    key = getattr(local.tzinfo, "key", None)
    return f"({key})" if key else f"(UTC{abbreviation})"


def format_when(
    value: dt.datetime, zone_name: str | None, date_format: str = "%-d %b %Y", time_format: str = "%H:%M"
) -> str:
    """Date and time in the zone, the zone named: ``"14 Jul 2026 14:00 BST"``."""
    local = to_local(value, zone_name)
    day = f"{local:{date_format}} " if date_format else ""
    return f"{day}{local:{time_format}} {zone_label(local)}"


def format_day(value: dt.datetime, zone_name: str | None, date_format: str = "%-d %b %Y") -> str:
    """The date in the zone (a date alone needs no zone name, but midnight UTC may be another day)."""
    return f"{to_local(value, zone_name):{date_format}}"


def reader_zone_of(own: str | None, program: str | None) -> str:
    """The zone a person reads times in outside a page (mail): their own zone when they set one we
    know, else their program's, else UTC."""
    for name in (own, program):
        if check_zone(name) is not None:
            return (name or "").strip()
    return DEFAULT_ZONE


SESSION_DAY_FORMAT = "%A %-d %B %Y,"


def format_session_start(
    starts_at: dt.datetime, session_zone: str | None, reader: str, date_format: str = SESSION_DAY_FORMAT
) -> str:
    """A session's start in the ``reader``'s zone, and in the session's own zone when that differs:
    "Tuesday 8 December 2026, 15:00 GMT (09:00 CST in America/Chicago, the session’s zone)"."""
    text = format_when(starts_at, reader, date_format)
    if check_zone(session_zone) is not None and session_zone != reader:
        there = format_when(starts_at, session_zone, "")
        if format_day(starts_at, session_zone) != format_day(starts_at, reader):
            there = format_when(starts_at, session_zone, "%a %-d %b")
        text += f" ({there} in {session_zone}, the session’s zone)"
    return text
