"""Lead trainer workspace (admins may use it too): one blueprint, guarded once, routes by area."""

from __future__ import annotations

from . import rounds
from .blueprint import bp

__all__ = ["bp", "rounds"]
