"""Filtering and paging the trainer's long lists (people, rounds, anchors, flags, challenges,
sessions, the audit log), with a constant number of queries per page.

A list takes a :class:`ListFilter` (plain values, already checked by the caller) and returns a
:class:`Paged` page. Paging is by offset: one ``COUNT`` over the filtered query, then one page of
rows; the counts and names a page shows are read for the page's ids only, so the number of queries
does not grow with the program.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from . import timezones

T = TypeVar("T")

#: Rows on one page of a list.
PER_PAGE = 50
#: The longest search text looked for (longer text is cut by the caller, with a message).
MAX_SEARCH = 100


@dataclass(frozen=True)
class ListFilter:
    """What a list is narrowed to; None (or empty text) means "any".

    ``status``, ``kind`` and ``rubric_id`` are checked by the caller against the list's choices;
    ``date_from`` and ``date_to`` are whole days, both included, as the calendar of ``zone`` (the
    IANA name of the zone the reader's pages show times in; UTC for an unknown name) counts them.
    """

    q: str = ""
    status: str | None = None
    kind: str | None = None
    rubric_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = 1
    per_page: int = PER_PAGE
    zone: str = timezones.DEFAULT_ZONE

    def at_page(self, page: int) -> ListFilter:
        return replace(self, page=page)


@dataclass(frozen=True)
class Paging:
    """The page asked for, for a list with filters of its own (the audit log)."""

    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list: its items, the page shown (1-based) and the number of matches."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 when the page is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_rows(
    session: Session, stmt: Select[*tuple[Any, ...]], f: ListFilter | Paging
) -> tuple[Sequence[Any], int, int]:
    """(rows of the page, the page shown, total matches), in two queries.

    A page past the last shows the last page (a bookmark kept while the list shrank).
    """
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // f.per_page))
    page = min(max(f.page, 1), pages)
    rows = session.execute(stmt.limit(f.per_page).offset((page - 1) * f.per_page)).all()
    return rows, page, int(total)


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text`` (case-insensitive; ``%`` and ``_`` are matched as typed)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


def day_bounds(f: ListFilter) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The UTC instants the filter's days run between: (start of ``date_from``, start of the day
    after ``date_to``), each in the filter's zone, None where that end is open."""
    low = timezones.day_start(f.date_from, f.zone) if f.date_from is not None else None
    high = timezones.day_start(f.date_to + dt.timedelta(days=1), f.zone) if f.date_to is not None else None
    return low, high


def within_days(column: Any, f: ListFilter) -> list[ColumnElement[bool]]:
    """Conditions for a UTC time column to fall on or between the filter's days (in its zone)."""
    low, high = day_bounds(f)
    out: list[ColumnElement[bool]] = []
    if low is not None:
        out.append(column >= low)
    if high is not None:
        out.append(column < high)
    return out
