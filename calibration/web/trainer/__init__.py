"""Lead trainer workspace (admins may use it too): one blueprint, guarded once, routes by area."""

from __future__ import annotations

from . import anchors, challenges, drift, people, reports, round_admin, rounds, rubrics, sheets
from .blueprint import bp

__all__ = [
    "anchors",
    "bp",
    "challenges",
    "drift",
    "people",
    "reports",
    "round_admin",
    "rounds",
    "rubrics",
    "sheets",
]
