"""Who is acting, passed to services as a plain value (services never read the request).

Three kinds, so that a service's signature says what it needs and its scope comes from it:

* :class:`Member`: a signed-in user acting within one program (every page behind a role guard);
  ``program_id`` is the scope of everything the use case reads or writes.
* :class:`Person`: a user acting outside any program (signing in, resetting a password).
* :class:`SystemActor`: the service itself (a CLI command or a rule that fires on its own),
  optionally on behalf of one program.

``Actor`` is any of the three: what the audit trail needs (``user_id``, ``program_id``,
``request_id``) reads the same on each.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Role


@dataclass(frozen=True)
class Member:
    """A signed-in user acting within their program (the scope of the use case)."""

    user_id: int
    program_id: int
    role: Role | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Person:
    """A user acting outside any program (sign-in, password reset, accepting an invitation)."""

    user_id: int
    request_id: str | None = None

    @property
    def program_id(self) -> None:
        return None

    @property
    def role(self) -> None:
        return None


@dataclass(frozen=True)
class SystemActor:
    """The service itself: a command, a schedule or a rule that fires on its own."""

    program_id: int | None = None
    request_id: str | None = None

    @property
    def user_id(self) -> None:
        return None

    @property
    def role(self) -> None:
        return None


Actor = Member | Person | SystemActor
