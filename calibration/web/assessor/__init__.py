"""Assessors: rounds, blind scoring, feedback once final, and recalibration sessions."""

from .sessions import bp as sessions_bp
from .views import bp

__all__ = ["bp", "sessions_bp"]
