"""Administrators: accounts and the program."""

from .views import bp

__all__ = ["bp"]
