"""Reading a program's audit trail: filtered by actor, action, object and day, paged, exported as
CSV (formula-safe cells, :func:`calibration.services.exports.cell`), with the hash chain's status
(:func:`calibration.services.audit.verify_chain`, what ``flask verify-audit`` reports)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import AuditChainHead, AuditEvent, Membership, User
from . import timezones
from .audit import ChainCheck, verify_chain
from .exports import CsvExport, cell
from .listing import ListFilter, Paged, Paging, contains, page_rows, within_days
from .report_cache import database_identity

#: The most rows one CSV export holds (newest first); narrow the filters for older rows.
EXPORT_MAX_ROWS = 50_000


@dataclass(frozen=True)
class AuditFilter:
    """``actor``: text in the actor's name or email; ``action`` and ``object_type``: exact values
    (checked by the caller against :func:`audit_choices`); ``object_id``: exact; the days are
    whole days of ``zone``'s calendar (the zone the page shows times in), both included."""

    actor: str = ""
    action: str | None = None
    object_type: str | None = None
    object_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    paging: Paging = field(default_factory=Paging)
    zone: str = timezones.DEFAULT_ZONE


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: dt.datetime
    actor: str  # name and email, or "the service" for rows without a person
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    request_id: str | None
    detail: str  # the stored JSON text


def _of_program(program_id: int) -> ColumnElement[bool]:
    """Rows of the program, and rows outside any program (signing in, a password change) by one
    of its members."""
    members = select(Membership.user_id).where(Membership.program_id == program_id)
    return or_(
        AuditEvent.program_id == program_id,
        and_(AuditEvent.program_id.is_(None), AuditEvent.actor_id.in_(members)),
    )


def audit_choices(session: Session, program_id: int) -> tuple[list[str], list[str]]:
    """The actions and object types present in the program's trail, for the filter choices."""
    actions = session.scalars(
        select(AuditEvent.action).where(_of_program(program_id)).distinct().order_by(AuditEvent.action)
    )
    types = session.scalars(
        select(AuditEvent.object_type)
        .where(_of_program(program_id), AuditEvent.object_type.is_not(None))
        .distinct()
        .order_by(AuditEvent.object_type)
    )
    return [a for a in actions if a], [t for t in types if t]


def _query(program_id: int, f: AuditFilter) -> Select[*tuple[Any, ...]]:
    """Columns, not entities: an export of thousands of rows builds no ORM objects."""
    stmt = (
        select(*_COLUMNS, User.name, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(_of_program(program_id))
        .order_by(AuditEvent.id.desc())
    )
    if f.actor:
        stmt = stmt.where(or_(contains(User.name, f.actor), contains(User.email, f.actor)))
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id:
        stmt = stmt.where(AuditEvent.object_id == f.object_id)
    days = ListFilter(date_from=f.date_from, date_to=f.date_to, zone=f.zone)
    return stmt.where(*within_days(AuditEvent.at, days))


_COLUMNS = (
    AuditEvent.id,
    AuditEvent.at,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.outcome,
    AuditEvent.request_id,
    AuditEvent.detail_json,
)


def _line(row: Any) -> AuditLine:
    who = f"{row.name} ({row.email})" if row.name else "the service"
    return AuditLine(
        row.id,
        row.at,
        who,
        row.action,
        row.object_type,
        row.object_id,
        row.outcome,
        row.request_id,
        row.detail_json,
    )


def audit_page(session: Session, program_id: int, f: AuditFilter) -> Paged[AuditLine]:
    """One page of the program's trail, newest first, in two queries."""
    rows, page, total = page_rows(session, _query(program_id, f), f.paging)
    return Paged([_line(row) for row in rows], page, f.paging.per_page, total)


AUDIT_COLUMNS = (
    "id",
    "at_utc",
    "actor",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "request_id",
    "detail",
)


def audit_export(session: Session, program_id: int, f: AuditFilter) -> CsvExport:
    """The filtered trail as CSV (newest first, at most :data:`EXPORT_MAX_ROWS` rows); every text
    cell is neutralised against spreadsheet formulas."""
    rows = session.execute(_query(program_id, f).limit(EXPORT_MAX_ROWS)).all()
    lines = [_line(row) for row in rows]
    return CsvExport(
        "audit-log.csv",
        AUDIT_COLUMNS,
        tuple(
            tuple(
                map(
                    cell,
                    (
                        x.id,
                        x.at,
                        x.actor,
                        x.action,
                        x.object_type,
                        x.object_id,
                        x.outcome,
                        x.request_id,
                        x.detail,
                    ),
                )
            )
            for x in lines
        ),
        "program",
        program_id,
        "audit",
    )


# ------------------------------------------------------------------------------------ the chain
#: A chain check reads and hashes every row of the trail (all programs): at 100,000 rows that takes
#: seconds, too long for every view of the log. A result is reused while the trail has not grown
#: and for at most this long; the page says when it was checked and can ask for a new check.
CHAIN_CHECK_MAX_AGE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class ChainStatus:
    check: ChainCheck
    checked_at: dt.datetime


# database -> (the trail's size, last id and head hash when checked, the status). Shown, never used
# to decide anything; each server process keeps its own.
_CHECKED: dict[str, tuple[tuple[Any, ...], ChainStatus]] = {}


def chain_status(session: Session, *, recheck: bool = False, now: dt.datetime | None = None) -> ChainStatus:
    """:func:`calibration.services.audit.verify_chain`'s result, checked again when the trail has
    changed at its end, when ``recheck``, or when the last check is older than
    :data:`CHAIN_CHECK_MAX_AGE`; in two queries when reused."""
    now = now or utcnow()
    n, last = session.execute(select(func.count(AuditEvent.id), func.max(AuditEvent.id))).one()
    state = (n, last, session.scalar(select(AuditChainHead.last_hash)))
    db = database_identity(session)
    hit = _CHECKED.get(db)
    if hit is not None and hit[0] == state and not recheck and now - hit[1].checked_at < CHAIN_CHECK_MAX_AGE:
        return hit[1]
    status = ChainStatus(verify_chain(session), now)
    _CHECKED[db] = (state, status)
    return status


def clear_chain_cache() -> None:
    """Forget every chain check (tests and the benchmark's cold requests)."""
    _CHECKED.clear()
