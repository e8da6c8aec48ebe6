"""Lead trainer workspace (admins may use it too): one blueprint, guarded once, routes by area."""

from __future__ import annotations

from . import (
    anchors,
    audit_log,
    challenges,
    drift,
    operational,
    people,
    reports,
    round_admin,
    rounds,
    rubrics,
    settings,
    sheets,
    validity,
)
from .blueprint import bp

__all__ = [
    "anchors",
    "audit_log",
    "bp",
    "challenges",
    "drift",
    "operational",
    "people",
    "reports",
    "round_admin",
    "rounds",
    "rubrics",
    "settings",
    "sheets",
    "validity",
]
