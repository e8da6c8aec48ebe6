"""Domain errors raised by services and mapped to messages by the web and CLI layers."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base class: a rule of the domain refused the request. ``str(err)`` is safe to show."""


class NotFound(DomainError):
    """The object does not exist or is outside the caller's scope (shown as 404)."""


class InvalidInput(DomainError):
    """Input failed a rule; ``field_errors`` maps a field name to its messages."""

    def __init__(self, message: str, field_errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.field_errors: dict[str, list[str]] = {k: list(v) for k, v in (field_errors or {}).items()}


class RoundNotOpen(DomainError):
    """The round is not open for scoring now."""


class AlreadyRecorded(DomainError):
    """A final sheet already exists; nothing new was stored."""

    def __init__(self, sheet_id: int) -> None:
        super().__init__("These scores were already recorded; the first submission was kept.")
        self.sheet_id = sheet_id


class AuthenticationFailed(DomainError):
    """Wrong email or password (deliberately not saying which)."""


class LoginThrottled(AuthenticationFailed):
    """Too many recent failures for this email address."""


class Conflict(DomainError):
    """The request is well formed but the current state refuses it; ``code`` names why, for machines
    (the API's problem+json carries it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
