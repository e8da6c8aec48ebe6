"""A signed-in person's own account: invitations, passwords, and their calendar feed."""

from .calendar import bp as calendar_bp
from .views import bp

__all__ = ["bp", "calendar_bp"]
