"""The score page's flow through a round: where the anchor stands (n of N), the next anchor to
score, and what was typed when a login session ran out (kept through the sign-in).

What was typed after the session expired is carried in the signed session cookie (no database
write for an anonymous request, so nobody can fill a table without signing in). It is small and
checked on the way back: only criterion ids and level values of the round's rubric are used, and
only to refill the form of that anchor for a signed-in assessor assigned to it. It is bound to the
user whose login session ran out (the lapsed session's row still names them) and restored only to
that same user: anyone else signing in on the browser finds nothing, and it is dropped. It is never
a score and never trusted for anything else; it lapses after ``CARRY_HOURS``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ...db import get_session
from ...models import Round
from ...services import assignments
from ...services import auth as auth_service
from .forms import CRITERION_PREFIX

CARRY_KEY = "typed"
CARRY_HOURS = 12
# The signed cookie must stay under the browsers' 4 KB: notes longer than this are not carried (the
# page then says so; levels always are).
CARRY_NOTES_MAX_BYTES = 2000
_CARRIED_ENDPOINTS = frozenset({"assessor.score", "assessor.save_draft"})


@dataclass(frozen=True)
class Progress:
    """Where an anchor stands in its round, for the assessor."""

    position: int  # 1-based
    total: int
    scored: int
    next_anchor_id: int | None  # the next anchor not yet scored (after this one, wrapping), or None


def progress(session: Session, rnd: Round, *, user_id: int, anchor_id: int) -> Progress:
    items = assignments.round_items(session, rnd, user_id=user_id)
    ids = [item.anchor_id for item in items]
    here = ids.index(anchor_id) if anchor_id in ids else 0
    after = items[here + 1 :] + items[:here]
    following = next((item.anchor_id for item in after if item.sheet_id is None), None)
    scored = sum(1 for item in items if item.sheet_id is not None)
    return Progress(here + 1, len(items), scored, following)


def keep_what_was_typed() -> Response | None:
    """Before the assessor guard: a score page POST whose login session has run out keeps its
    levels and notes in the signed cookie and goes to the login page, which comes back here."""
    if g.get("user") is not None or request.method != "POST" or request.endpoint not in _CARRIED_ENDPOINTS:
        return None
    args = request.view_args or {}
    round_id, anchor_id = args.get("round_id"), args.get("anchor_id")
    if not isinstance(round_id, int) or not isinstance(anchor_id, int):
        return None
    lapsed = g.get("lapsed_sid")
    owner = auth_service.session_owner(get_session(), lapsed) if isinstance(lapsed, str) else None
    target = url_for("assessor.score", round_id=round_id, anchor_id=anchor_id)
    if owner is None:
        # No login session behind the cookie names who typed this: nothing is carried.
        session.pop(CARRY_KEY, None)
        return redirect(url_for("auth.login", next=target))
    levels: dict[str, int] = {}
    for key, value in request.form.items():
        if key.startswith(CRITERION_PREFIX) and len(levels) < 100:
            cid = key.removeprefix(CRITERION_PREFIX)
            if cid.isdigit() and value.isdigit() and len(cid) < 10 and len(value) < 4:
                levels[cid] = int(value)
    notes = request.form.get("notes", "")
    notes_kept = len(notes.encode()) <= CARRY_NOTES_MAX_BYTES
    session[CARRY_KEY] = {
        "u": owner,
        "r": round_id,
        "a": anchor_id,
        "l": levels,
        "n": notes if notes_kept else "",
        "lost_notes": not notes_kept,
        "t": int(time.time()),
    }
    return redirect(url_for("auth.login", next=target, kept=1))


def belongs_to(kept: Any, user_id: int) -> bool:
    """Whether carried data was typed by ``user_id`` (anything else is never restored)."""
    return isinstance(kept, dict) and type(kept.get("u")) is int and kept.get("u") == user_id


def carried(user_id: int, round_id: int, anchor_id: int) -> tuple[dict[int, int], str | None] | None:
    """Take what ``user_id`` typed on this anchor before their session ran out: (levels, notes or
    None when the notes were too long to carry). None if nothing was carried for it (or it lapsed);
    what another user typed is dropped unseen."""
    kept: Any = session.get(CARRY_KEY)
    if kept is not None and not belongs_to(kept, user_id):
        session.pop(CARRY_KEY, None)
        return None
    if not isinstance(kept, dict) or kept.get("r") != round_id or kept.get("a") != anchor_id:
        return None
    session.pop(CARRY_KEY, None)
    if time.time() - float(kept.get("t", 0)) > CARRY_HOURS * 3600:
        return None
    raw = kept.get("l")
    if not isinstance(raw, dict):
        raw = {}
    levels = {int(k): int(v) for k, v in raw.items() if str(k).isdigit() and isinstance(v, int)}
    notes = None if kept.get("lost_notes") else str(kept.get("n", ""))
    return levels, notes


def restore_message(notes_lost: bool) -> None:
    if notes_lost:
        flash(
            "You were signed out while scoring. Your levels are restored below, but your notes were "
            f"longer than {CARRY_NOTES_MAX_BYTES:,} bytes and could not be kept through the sign-in.",
            "warning",
        )
    else:
        flash(
            "You were signed out while scoring. What you typed is restored below; it is not saved "
            "until you save a draft or submit.",
            "info",
        )
