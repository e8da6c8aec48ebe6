"""The trainer blueprint and its guard, shared by the area modules."""

from __future__ import annotations

from flask import Blueprint

from ...models import Role
from ..guards import require_roles

bp = Blueprint("trainer", __name__, url_prefix="/trainer")
bp.before_request(require_roles(Role.LEAD_TRAINER, Role.ADMIN))
