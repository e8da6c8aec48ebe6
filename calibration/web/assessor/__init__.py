"""Assessors: rounds, blind scoring, feedback once final, and recalibration sessions."""

from . import drafts as _drafts  # noqa: F401  (its routes join the assessor blueprint)
from .sessions import bp as sessions_bp
from .views import bp

__all__ = ["bp", "sessions_bp"]
