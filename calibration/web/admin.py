"""Admin pages: the program's people, their roles and certification status."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from ..db import get_session
from ..models import Role
from ..services import people
from .guards import actor, require_roles

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_roles(Role.ADMIN))


@bp.get("/")
def index() -> str:
    me = actor()
    members = people.program_members(get_session(), me.program_id)
    return render_template("admin/index.html", members=members, program=g.membership.program)
