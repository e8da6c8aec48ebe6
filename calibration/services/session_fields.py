"""The fields of a recalibration session and their checks: title, place, local start time and
IANA time zone (converted to UTC), duration, trainer and capacity. Shared by scheduling and
rescheduling in :mod:`calibration.services.sessions`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    Membership,
    RecalibrationSession,
    Role,
)
from .errors import InvalidInput
from .scoring import ONE_LINE_MESSAGE, has_control_characters, is_one_line
from .timezones import LocalTimeProblem, check_zone, to_utc

TITLE_MAX_CHARS = 200
LOCATION_MAX_CHARS = 500
NOTE_MAX_CHARS = 1000
MAX_DURATION_MINUTES = 12 * 60
MAX_CAPACITY = 500


def _text(
    errors: dict[str, list[str]], name: str, label: str, value: str, limit: int, *, one_line: bool = False
) -> str:
    value = value.strip()
    if not value:
        errors[name] = [f"Enter the {label}."]
    elif len(value) > limit:
        errors[name] = [f"The {label} can be at most {limit} characters (you have {len(value)})."]
    elif one_line and not is_one_line(value):
        # The title goes into mail subjects, where a line break would end the header.
        errors[name] = [f"The {label} {ONE_LINE_MESSAGE}."]
    elif has_control_characters(value):
        errors[name] = [f"The {label} contains a control character (such as NUL) that cannot be stored."]
    return value


def check_timezone(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name`` (None when there is none by that name)."""
    return check_zone(name)


@dataclass(frozen=True)
class SessionFields:
    """A session's fields after the checks: the local start converted to UTC with ``timezone``."""

    title: str
    starts_at: dt.datetime
    timezone: str
    duration_minutes: int
    location: str
    trainer_id: int
    capacity: int

    @classmethod
    def of(cls, row: RecalibrationSession) -> SessionFields:
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})

    def apply_to(self, row: RecalibrationSession) -> None:
        for name, value in dataclasses.asdict(self).items():
            setattr(row, name, value)

    def detail(self) -> dict[str, object]:
        """As the audit trail records them (times in ISO 8601)."""
        return {**dataclasses.asdict(self), "starts_at": self.starts_at.isoformat()}


def _checked_fields(
    session: Session,
    *,
    program_id: int,
    title: str,
    date: dt.date | None,
    time: dt.time | None,
    timezone: str,
    duration_minutes: int | None,
    location: str,
    trainer_id: int | None,
    capacity: int | None,
    now: dt.datetime,
) -> SessionFields:
    """The checks shared by scheduling and rescheduling. Raises InvalidInput with field errors."""
    errors: dict[str, list[str]] = {}
    title = _text(errors, "title", "title", title, TITLE_MAX_CHARS, one_line=True)
    location = _text(errors, "location", "place or video link", location, LOCATION_MAX_CHARS, one_line=True)
    zone = check_timezone(timezone)
    if zone is None:
        errors["timezone"] = [
            "Choose a time zone by its IANA name, such as Europe/Berlin or America/New_York."
        ]
    if date is None:
        errors["date"] = ["Enter the date."]
    if time is None:
        errors["time"] = ["Enter the start time."]
    starts_at = None
    if zone is not None and date is not None and time is not None:
        try:
            starts_at = to_utc(date, time, zone.key)
        except LocalTimeProblem as exc:  # the clocks skip or repeat that time: not one instant
            errors["time"] = [str(exc)]
        else:
            if starts_at <= now:
                errors["date"] = ["The session must start in the future."]
    if duration_minutes is None or not 1 <= duration_minutes <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = [f"Enter the duration in minutes, from 1 to {MAX_DURATION_MINUTES}."]
    if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = [f"Enter how many assessors can attend, from 1 to {MAX_CAPACITY}."]
    trainer = None
    if trainer_id is not None:
        trainer = session.scalar(
            select(Membership).where(
                Membership.user_id == trainer_id,
                Membership.program_id == program_id,
                Membership.role.in_([Role.LEAD_TRAINER, Role.ADMIN]),
            )
        )
    if trainer is None:
        errors["trainer_id"] = ["Choose a trainer of this program."]
    if errors:
        raise InvalidInput("Some fields need attention; nothing was saved.", errors)
    assert starts_at is not None and trainer_id is not None and duration_minutes and capacity
    return SessionFields(
        title,
        starts_at,
        zone.key if zone else timezone.strip(),
        duration_minutes,
        location,
        trainer_id,
        capacity,
    )
