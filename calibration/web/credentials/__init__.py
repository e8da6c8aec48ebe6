"""Open Badges credentials in public: issuer profiles, status lists, each credential's page and
document, and a verifier anyone can use (no login: a credential is meant to be shown)."""

from .views import bp

__all__ = ["bp"]
