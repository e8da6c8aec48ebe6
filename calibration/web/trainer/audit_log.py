"""The program's audit log for lead trainers and admins: filter by actor, action, object and day
(a GET form, so a view can be bookmarked), page through it, download it as CSV, and see at the top
whether the trail's hash chain is intact (what ``flask verify-audit`` reports). Thin views over
:mod:`calibration.services.audit_log`.

In the trainer area, like the settings: its guard lets in exactly the program's lead trainers and
admins, and every row shown is scoped to the program."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, render_template, request

from ...db import get_session
from ...services import audit_log, exports
from ...services.listing import MAX_SEARCH, Paging
from ..boundary import commit_after_read
from ..guards import actor
from ..times import reader_zone
from .blueprint import bp
from .list_args import CONTROL, read_choice, read_day, read_page

NAMES = ("actor", "action", "object_type", "object_id", "from", "to")


@dataclass(frozen=True)
class AuditArgs:
    filter: audit_log.AuditFilter
    typed: dict[str, str]
    problems: tuple[str, ...]
    active: bool

    def query(self, **changes: object) -> dict[str, object]:
        out: dict[str, object] = {k: v for k, v in self.typed.items() if v}
        out.update({k: v for k, v in changes.items() if v not in (None, "")})
        return out


def _args(actions: list[str], types: list[str]) -> AuditArgs:
    problems: list[str] = []
    typed = {name: CONTROL.sub("", request.args.get(name, "").strip())[:MAX_SEARCH] for name in NAMES}
    if any(CONTROL.search(request.args.get(name, "")) for name in NAMES):
        problems.append("The filters cannot hold control characters; they were left out.")
    action = read_choice(typed["action"], {a: a for a in actions}, "recorded action", problems)
    object_type = read_choice(typed["object_type"], {t: t for t in types}, "kind of object", problems)
    date_from = read_day(typed["from"], "from", problems)
    date_to = read_day(typed["to"], "to", problems)
    if date_from and date_to and date_from > date_to:
        problems.append("“From” is after “to”; showing every date.")
        date_from = date_to = None
    object_id = typed["object_id"][:64]
    f = audit_log.AuditFilter(
        actor=typed["actor"],
        action=action,
        object_type=object_type,
        object_id=object_id,
        date_from=date_from,
        date_to=date_to,
        paging=Paging(read_page(problems)),
        zone=reader_zone(),  # the days the page shows its times in; the CSV reads the same filter
    )
    active = bool(f.actor or action or object_type or object_id or date_from or date_to)
    return AuditArgs(f, typed, tuple(problems), active)


@bp.get("/audit")
def audit_log_page() -> str:
    me = actor()
    db_session = get_session()
    actions, types = audit_log.audit_choices(db_session, me.program_id)
    args = _args(actions, types)
    return render_template(
        "trainer/audit.html",
        paged=audit_log.audit_page(db_session, me.program_id, args.filter),
        args=args,
        actions=actions,
        types=types,
        chain=audit_log.chain_status(db_session, recheck=request.args.get("recheck") == "1"),
    )


@bp.get("/audit/export.csv")
def audit_log_export() -> Response:
    me = actor()
    actions, types = audit_log.audit_choices(get_session(), me.program_id)
    export = audit_log.audit_export(get_session(), me.program_id, _args(actions, types).filter)
    commit_after_read(lambda s: exports.record_export(s, me, export))
    response = Response(export.text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
