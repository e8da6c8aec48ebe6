"""Who is acting, passed to services as a plain value (services never read the request)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    program_id: int | None
    role: Role | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, program_id: int | None = None, request_id: str | None = None) -> Actor:
        return cls(user_id=None, program_id=program_id, role=None, request_id=request_id)
