"""Reading a program's audit trail: filtered by actor, action, object and day, paged, exported as
CSV (formula-safe cells, :func:`calibration.services.exports.cell`), with the hash chain's status
(:func:`calibration.services.audit.verify_chain`, what ``flask verify-audit`` reports)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Membership, User
from .exports import CsvExport, cell
from .listing import ListFilter, Paged, Paging, contains, page_rows, within_days

#: The most rows one CSV export holds (newest first); narrow the filters for older rows.
EXPORT_MAX_ROWS = 50_000


@dataclass(frozen=True)
class AuditFilter:
    """``actor``: text in the actor's name or email; ``action`` and ``object_type``: exact values
    (checked by the caller against :func:`audit_choices`); ``object_id``: exact; days in UTC."""

    actor: str = ""
    action: str | None = None
    object_type: str | None = None
    object_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    paging: Paging = field(default_factory=Paging)


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


def _query(program_id: int, f: AuditFilter) -> Select[AuditEvent, str, str]:
    stmt = (
        select(AuditEvent, User.name, User.email)
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
    days = ListFilter(date_from=f.date_from, date_to=f.date_to)
    return stmt.where(*within_days(AuditEvent.at, days))


def _line(event: AuditEvent, name: str | None, email: str | None) -> AuditLine:
    who = f"{name} ({email})" if name else "the service"
    return AuditLine(
        event.id,
        event.at,
        who,
        event.action,
        event.object_type,
        event.object_id,
        event.outcome,
        event.request_id,
        event.detail_json,
    )


def audit_page(session: Session, program_id: int, f: AuditFilter) -> Paged[AuditLine]:
    """One page of the program's trail, newest first, in two queries."""
    rows, page, total = page_rows(session, _query(program_id, f), f.paging)
    return Paged([_line(*row) for row in rows], page, f.paging.per_page, total)


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
    lines = [_line(event, name, email) for event, name, email in rows]
    return CsvExport(
        "audit-log.csv",
        AUDIT_COLUMNS,
        tuple(
            tuple(
                cell(v)
                for v in (
                    x.id,
                    x.at,
                    x.actor,
                    x.action,
                    x.object_type,
                    x.object_id,
                    x.outcome,
                    x.request_id,
                    x.detail,
                )
            )
            for x in lines
        ),
        "program",
        program_id,
        "audit",
    )
