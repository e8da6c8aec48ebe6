"""The query string of a filtered list (a GET form, so a filtered page can be bookmarked): read it
into a :class:`~calibration.services.listing.ListFilter`, keep what was typed for the form, and
say in plain words what could not be used (that filter is then left out; never an error page)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import request

from ...services.listing import MAX_SEARCH, ListFilter
from ..times import reader_zone

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: The query-string names of the filters, as the forms send them.
NAMES = ("q", "status", "kind", "rubric", "from", "to")


@dataclass(frozen=True)
class ListArgs:
    """A list's filters as used (``filter``), as typed (``typed``, shown back in the form) and the
    problems found with what was typed."""

    filter: ListFilter
    typed: dict[str, str]
    problems: tuple[str, ...] = ()
    active: bool = False  # any filter in use

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query string of this list with ``changes`` (e.g. another page), empty values left out."""
        out: dict[str, Any] = {k: v for k, v in self.typed.items() if v}
        out.update({k: v for k, v in changes.items() if v not in (None, "")})
        return out


def read_choice(raw: str, choices: Mapping[str, str], what: str, problems: list[str]) -> str | None:
    if not raw:
        return None
    if raw in choices:
        return raw
    problems.append(f"“{shown(raw)}” is not a {what} this list knows; showing every {what}.")
    return None


def read_day(raw: str, what: str, problems: list[str]) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(
            f"“{shown(raw)}” is not a date for “{what}”; write it as year-month-day, e.g. 2026-03-31."
        )
        return None


def read_page(problems: list[str]) -> int:
    """The ``page`` asked for (1 when it is not a page number, with a problem said)."""
    raw = request.args.get("page", "1").strip() or "1"
    if raw.isdigit() and 0 < int(raw) < 10**6:
        return int(raw)
    problems.append(f"“{shown(raw)}” is not a page number; showing the first page.")
    return 1


def shown(raw: str) -> str:
    return CONTROL.sub("", raw)[:40]


def list_args(
    *,
    statuses: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    rubrics: Sequence[tuple[int, str]] | None = None,
) -> ListArgs:
    """Read the request's filters. ``statuses`` and ``kinds`` map each allowed value to its label;
    ``rubrics`` are the (id, label) choices (None: the list has no such filter)."""
    args = request.args
    problems: list[str] = []
    typed = {name: args.get(name, "").strip() for name in NAMES}
    q = typed["q"]
    if CONTROL.search(q):
        q = CONTROL.sub("", q)
        typed["q"] = q
        problems.append("The search cannot hold control characters; they were left out.")
    if len(q) > MAX_SEARCH:
        q = q[:MAX_SEARCH]
        problems.append(f"Only the first {MAX_SEARCH} characters of the search were used.")
    status = (
        read_choice(typed["status"], statuses or {}, "status", problems) if statuses is not None else None
    )
    kind = read_choice(typed["kind"], kinds or {}, "kind", problems) if kinds is not None else None
    rubric_id = None
    if rubrics is not None and typed["rubric"]:
        known = {str(rid): rid for rid, _ in rubrics}
        if typed["rubric"] in known:
            rubric_id = known[typed["rubric"]]
        else:
            problems.append(
                f"“{shown(typed['rubric'])}” is not a rubric of this program; showing every rubric."
            )
    date_from = read_day(typed["from"], "from", problems)
    date_to = read_day(typed["to"], "to", problems)
    if date_from and date_to and date_from > date_to:
        problems.append("“From” is after “to”; showing every date.")
        date_from = date_to = None
    page = read_page(problems)
    for name in NAMES:  # what was typed is shown back, without control characters
        typed[name] = CONTROL.sub("", typed[name])[:MAX_SEARCH]
    f = ListFilter(
        q=q,
        status=status,
        kind=kind,
        rubric_id=rubric_id,
        date_from=date_from,
        date_to=date_to,
        page=page,
        zone=reader_zone(),  # days as the reader's calendar counts them, like the times the list shows
    )
    active = bool(q or status or kind or rubric_id is not None or date_from or date_to)
    return ListArgs(f, typed, tuple(problems), active)
