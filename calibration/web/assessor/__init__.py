"""Assessors: rounds, blind scoring, feedback once final, results, progress, the anchor library and
recalibration sessions."""

from . import credential as credential  # registers "Get your credential" on ``bp``
from . import drafts as drafts  # registers the draft endpoint on ``bp``
from . import library as library  # registers the anchor library on ``bp``
from . import practice as practice  # registers the practice try-again endpoint on ``bp``
from . import results as results  # registers the result and progress pages on ``bp``
from .sessions import bp as sessions_bp
from .views import bp

__all__ = ["bp", "sessions_bp"]
