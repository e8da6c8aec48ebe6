"""Configuration read from environment variables, with safe development defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .services import policy

DEV_SECRET_KEY = "dev-only-insecure-secret-key"
# Encrypts the credential issuers' private keys; production refuses to start with it (or without one).
DEV_CREDENTIAL_KEY = "dev-only-insecure-credential-key"


class ConfigError(RuntimeError):
    """The configuration cannot be used (e.g. production without a real SECRET_KEY)."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def from_environment(instance_path: str) -> dict[str, Any]:
    """Build the configuration mapping from the environment.

    ``DATABASE_URL`` defaults to an SQLite file in the instance folder; ``SECRET_KEY``
    defaults to a development key that :func:`check_production` refuses.
    """
    env = os.environ.get("CALIBRATION_ENV", "development").strip().lower()
    default_db = "sqlite:///" + str(Path(instance_path) / "calibration.sqlite3")
    attachment_max = _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
    return {
        "ENV_NAME": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        # Open Badges issuer keys are stored encrypted under a key derived from this (see README).
        "CREDENTIAL_KEY": os.environ.get("CREDENTIAL_KEY", DEV_CREDENTIAL_KEY),
        "DATABASE_URL": os.environ.get("DATABASE_URL", default_db),
        # The owner role's URL for `migrate` and `create-app-role` (PostgreSQL); empty: DATABASE_URL.
        "MIGRATE_DATABASE_URL": os.environ.get("MIGRATE_DATABASE_URL", ""),
        "SQLITE_BUSY_TIMEOUT_MS": _int("SQLITE_BUSY_TIMEOUT_MS", 15000),
        # BLAS/OpenMP threads per process; 0 leaves the libraries' own default.
        "NUMERIC_THREADS": _int("NUMERIC_THREADS", 1),
        # Room above the attachment limit, so an oversized file gets a form error (checked by the
        # service) rather than Werkzeug's bare 413; only far larger bodies are cut off unread.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 2 * attachment_max + 1024 * 1024),
        "ATTACHMENT_MAX_BYTES": attachment_max,
        # /api/v1: largest request body, and requests per token per minute (counted in the database).
        "API_MAX_BODY_BYTES": _int("API_MAX_BODY_BYTES", 1024 * 1024),
        "API_RATE_PER_MINUTE": _int("API_RATE_PER_MINUTE", 600),
        # Live scoring imports: largest CSV upload, and where uploads wait for their import.
        "IMPORT_MAX_BYTES": _int("IMPORT_MAX_BYTES", 200 * 1024 * 1024),
        "IMPORT_DIR": os.environ.get("IMPORT_DIR", str(Path(instance_path) / "imports")),
        # Anchor attachments live outside static, served only through access-checked views.
        "ATTACHMENT_DIR": os.environ.get("ATTACHMENT_DIR", str(Path(instance_path) / "attachments")),
        # Computed reports and rendered charts kept across restarts (services/report_store.py); empty
        # turns the store off.
        "CACHE_DIR": os.environ.get("CACHE_DIR", str(Path(instance_path) / "cache")),
        # Over HTTPS the cookie is named "__Host-session" (see apply_cookie_prefix); SESSION_COOKIE_NAME
        # in the environment overrides the name.
        "SESSION_COOKIE_NAME": os.environ.get("SESSION_COOKIE_NAME", "session"),
        "SESSION_COOKIE_PATH": "/",
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), env == "production"),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 60),
        "SESSION_ABSOLUTE_HOURS": _int("SESSION_ABSOLUTE_HOURS", 12),
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": _int("WTF_CSRF_TIME_LIMIT", 8 * 3600),
        "RUBRIC_DIR": os.environ.get("RUBRIC_DIR", str(Path(__file__).resolve().parent.parent / "rubrics")),
        "NOTES_MAX_CHARS": _int("NOTES_MAX_CHARS", 5000),
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_THROTTLE_MINUTES": _int("LOGIN_THROTTLE_MINUTES", 15),
        # Reverse proxies in front of the app whose X-Forwarded-Proto/-For are believed (0: none).
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        **_onboarding_settings(instance_path),
        **_job_settings(instance_path),
    }


def _job_settings(instance_path: str) -> dict[str, Any]:
    """Background jobs (``calibration/notify/queue.py``) and webhook delivery."""
    return {
        # Run each job synchronously right after the commit that enqueued it (tests).
        "JOBS_IMMEDIATE": _bool(os.environ.get("JOBS_IMMEDIATE")),
        # Start a worker inside the app's own process (make run: no extra service).
        "JOBS_INLINE_WORKER": _bool(os.environ.get("JOBS_INLINE_WORKER")),
        # The queue's file when the database is SQLite (PostgreSQL keeps it in its huey_* tables).
        "JOBS_QUEUE_FILE": os.environ.get("JOBS_QUEUE_FILE", str(Path(instance_path) / "jobs-queue.sqlite3")),
        # A running job's lease (renewed while it runs); a killed worker's job runs again after it.
        "JOBS_LEASE_SECONDS": _int("JOBS_LEASE_SECONDS", 60),
        # How often a worker looks for jobs to hand over again (expired leases, missed hand-overs).
        "JOBS_SWEEP_SECONDS": _int("JOBS_SWEEP_SECONDS", 30),
        # A job handed over this long ago and still not claimed is handed over again (its message
        # may have died with a worker that took it).
        "JOBS_REDISPATCH_SECONDS": _int("JOBS_REDISPATCH_SECONDS", 300),
        "WEBHOOK_TIMEOUT_SECONDS": _int("WEBHOOK_TIMEOUT_SECONDS", 10),
    }


def _onboarding_settings(instance_path: str) -> dict[str, Any]:
    """Mail (``MAIL_*``) and the onboarding and certification clocks."""
    return {
        # "log" writes each mail's recipient and subject to the log (development); "smtp" sends it.
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "log").strip().lower(),
        # Where the "outbox" backend (make run) writes each mail as an .eml file.
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR", str(Path(instance_path) / "outbox")),
        "MAIL_HOST": os.environ.get("MAIL_HOST", "localhost"),
        "MAIL_PORT": _int("MAIL_PORT", 587),
        # "starttls" (default), "ssl" (implicit TLS, usually port 465) or "none" (local relays only).
        "MAIL_SECURITY": os.environ.get("MAIL_SECURITY", "starttls").strip().lower(),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Assessor Calibration <no-reply@localhost>"),
        "MAIL_TIMEOUT_SECONDS": _int("MAIL_TIMEOUT_SECONDS", 20),
        # Tries before an outbox mail waits for a trainer's "Try again now" (calibration.notify.outbox).
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 8),
        # How long a try holds its outbox mail; a try cut short (the process died) is retried by a
        # job after it. Keep it well above a slow send (MAIL_TIMEOUT_SECONDS per step of the dialogue).
        "MAIL_LEASE_SECONDS": _int("MAIL_LEASE_SECONDS", 300),
        # Links in mail sent outside a request (the reminder command) start with this.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "INVITATION_DAYS": _int("INVITATION_DAYS", 7),
        "PASSWORD_RESET_HOURS": _int("PASSWORD_RESET_HOURS", 24),
        # Reset links mailed per account in any hour; more requests are answered alike, send nothing.
        "PASSWORD_RESETS_PER_HOUR": _int("PASSWORD_RESETS_PER_HOUR", 3),
        "QUALIFICATION_WINDOW_DAYS": _int("QUALIFICATION_WINDOW_DAYS", policy.QUALIFICATION_WINDOW_DAYS),
        # Defaults for programs that do not store their own value in their settings.
        "CERTIFICATION_DAYS": _int("CERTIFICATION_DAYS", policy.CERTIFICATION_DAYS),
        "REMINDER_DAYS": _int("REMINDER_DAYS", policy.REMINDER_DAYS),
        "QUALIFICATION_ATTEMPTS": _int("QUALIFICATION_ATTEMPTS", policy.QUALIFICATION_ATTEMPTS),
    }


HOST_PREFIX = "__Host-"


def apply_cookie_prefix(config: dict[str, Any]) -> None:
    """Served over HTTPS (``SESSION_COOKIE_SECURE``), the session cookie gets the ``__Host-`` prefix:
    browsers then accept it only when it is Secure, has ``Path=/`` and no ``Domain``, so neither a
    sibling subdomain nor a plain-HTTP page can set or overwrite it."""
    if config.get("SESSION_COOKIE_SECURE") and config.get("SESSION_COOKIE_NAME", "session") == "session":
        config["SESSION_COOKIE_NAME"] = HOST_PREFIX + "session"


def cookie_problems(config: dict[str, Any]) -> list[str]:
    """What keeps a ``__Host-`` cookie from being accepted by browsers (it would never be stored)."""
    if not str(config.get("SESSION_COOKIE_NAME", "")).startswith(HOST_PREFIX):
        return []
    found = []
    if not config.get("SESSION_COOKIE_SECURE"):
        found.append("a __Host- session cookie needs SESSION_COOKIE_SECURE")
    if config.get("SESSION_COOKIE_DOMAIN"):
        found.append("a __Host- session cookie cannot have SESSION_COOKIE_DOMAIN")
    if config.get("SESSION_COOKIE_PATH") not in (None, "/"):
        found.append("a __Host- session cookie needs SESSION_COOKIE_PATH '/'")
    return found


@dataclass(frozen=True)
class ProductionCheck:
    env: str
    secret_key: str
    credential_key: str = ""

    def problems(self) -> list[str]:
        if self.env != "production":
            return []
        found = []
        if not self.secret_key or self.secret_key == DEV_SECRET_KEY:
            found.append("SECRET_KEY is not set (the development key is refused in production)")
        elif len(self.secret_key) < 32:
            found.append("SECRET_KEY is too short (use at least 32 random characters)")
        if not self.credential_key or self.credential_key == DEV_CREDENTIAL_KEY:
            found.append("CREDENTIAL_KEY is not set (it encrypts the keys that sign credentials)")
        elif len(self.credential_key) < 32:
            found.append("CREDENTIAL_KEY is too short (use at least 32 random characters)")
        return found


def check_production(config: dict[str, Any]) -> None:
    """Refuse to start in production mode with a development or weak secret key, or (in any mode)
    with a ``__Host-`` cookie that browsers would refuse."""
    problems = ProductionCheck(
        config.get("ENV_NAME", "development"), config.get("SECRET_KEY", ""), config.get("CREDENTIAL_KEY", "")
    ).problems()
    problems += cookie_problems(config)
    if problems:
        raise ConfigError("Refusing to start in production: " + "; ".join(problems))
