"""Webhooks: a program's endpoints, and :func:`emit`, the durable outbox of events for them.

:func:`emit` (``emit(session, program_id, event_type, data)``) writes one
:class:`~calibration.models.WebhookDelivery` per enabled endpoint of the program that subscribes to
``event_type``, in the caller's transaction, and enqueues a delivery job for each
(:mod:`calibration.services.jobs`); so an event is sent exactly when the change it reports is kept.
``data`` is a small JSON object of ids and API paths: never a key, a rationale or anything an
assessor must not see. The job (:mod:`calibration.notify.webhook_delivery`) signs each delivery in
the Standard Webhooks form and retries on the schedule :data:`RETRY_SCHEDULE`, with the same
``webhook-id`` on every try.

**Secrets** (``whsec_`` and 24 random bytes in base64, the Standard Webhooks form) are needed in
clear to sign, so they cannot be hashed like API tokens: they are stored encrypted (AES-256-GCM
under a key derived from ``CREDENTIAL_KEY``, bound to the program) and shown once, when made and
when rotated. A database copy alone does not give them away, and no page shows an old one again.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets as secrets_module
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db import rows_matched, utcnow
from ..models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from . import audit, jobs
from .context import Member
from .errors import InvalidInput, NotFound

FLAG_RAISED = "flag.raised"
CERTIFICATION_CHANGED = "certification.changed"
ROUND_CLOSED = "round.closed"
VALIDITY_SCORED = "validity.scored"
TEST_EVENT = "webhook.test"
EVENT_TYPES: tuple[str, ...] = (FLAG_RAISED, CERTIFICATION_CHANGED, ROUND_CLOSED, VALIDITY_SCORED)
EVENT_WORDS: dict[str, str] = {
    FLAG_RAISED: "A drift flag was raised",
    CERTIFICATION_CHANGED: "An assessor's certification status changed",
    ROUND_CLOSED: "A round closed",
    VALIDITY_SCORED: "A validity item was scored",
}

DELIVER_JOB = "webhook.deliver"
#: Wait before each further try after a failed one; after the last, the delivery is failed.
RETRY_SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
TIMEOUT_SECONDS = 10
URL_MAX_CHARS = 500
DESCRIPTION_MAX_CHARS = 200
ERROR_MAX_CHARS = 300
_HKDF_INFO = b"calibration webhook secret v1"


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted (``CREDENTIAL_KEY`` is not the key it was stored with)."""


# ------------------------------------------------------------------------------------------ secrets
def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets_module.token_bytes(24)).decode()


def _aead(key: str) -> AESGCM:
    if not key:
        raise SecretUnreadable("CREDENTIAL_KEY is not set: webhook secrets cannot be stored or used.")
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(key.encode()))


def encrypt_secret(key: str, program_id: int, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead(key).encrypt(nonce, secret.encode(), f"program:{program_id}".encode())
    return base64.b64encode(nonce + sealed).decode()


def decrypt_secret(key: str, endpoint: WebhookEndpoint) -> str:
    raw = base64.b64decode(endpoint.secret_encrypted)
    try:
        plain = _aead(key).decrypt(raw[:12], raw[12:], f"program:{endpoint.program_id}".encode())
    except InvalidTag as exc:
        raise SecretUnreadable(
            f"The secret of webhook endpoint {endpoint.id} cannot be decrypted: "
            "CREDENTIAL_KEY is not the key it was stored with."
        ) from exc
    return plain.decode()


# ---------------------------------------------------------------------------------------- endpoints
def check_url(url: str) -> str:
    """The URL cleaned, or InvalidInput: http(s) only, with a host, one line, at most 500 characters."""
    url = (url or "").strip()
    problem = None
    if not url:
        problem = "Enter the address events are sent to."
    elif len(url) > URL_MAX_CHARS:
        problem = f"The address is too long (at most {URL_MAX_CHARS} characters)."
    elif any(c.isspace() or ord(c) < 32 for c in url):
        problem = "The address cannot contain spaces or line breaks."
    else:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            problem = "The address must start with https:// (or http://)."
        elif not parts.hostname:
            problem = "The address needs a host name, like https://example.org/hooks."
    if problem:
        raise InvalidInput(problem, {"url": [problem]})
    return url


def _check_events(event_types: Iterable[str]) -> str:
    chosen = sorted(set(event_types))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown or not chosen:
        message = "Choose at least one event." if not chosen else "Choose events from the list."
        raise InvalidInput(message, {"event_types": [message]})
    return " ".join(chosen)


def _endpoint(session: Session, program_id: int, endpoint_id: int) -> WebhookEndpoint:
    found = session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id < 2**31 else None
    if found is None or found.program_id != program_id:
        raise NotFound("No such webhook endpoint.")
    return found


@dataclass(frozen=True)
class NewSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def create_endpoint(
    session: Session,
    me: Member,
    *,
    url: str,
    description: str,
    event_types: Iterable[str],
    credential_key: str,
) -> NewSecret:
    """Register an endpoint with a new secret (returned once; audited ``webhook.create``)."""
    clean = check_url(url)
    events = _check_events(event_types)
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_CHARS or "\n" in description or "\r" in description:
        message = f"Describe the endpoint in one line of at most {DESCRIPTION_MAX_CHARS} characters."
        raise InvalidInput(message, {"description": [message]})
    secret = new_secret()
    endpoint = WebhookEndpoint(
        program_id=me.program_id,
        url=clean,
        description=description,
        event_types=events,
        secret_encrypted=encrypt_secret(credential_key, me.program_id, secret),
        secret_hint=secret[:10],
        enabled=True,
        created_at=utcnow(),
        created_by_id=me.user_id,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        me,
        "webhook.create",
        object_type="webhook_endpoint",
        object_id=endpoint.id,
        detail={"url": clean, "event_types": events.split()},
    )
    return NewSecret(endpoint, secret)


def rotate_secret(session: Session, me: Member, endpoint_id: int, *, credential_key: str) -> NewSecret:
    """Replace the endpoint's secret (the old one stops signing at once; audited ``webhook.rotate``)."""
    endpoint = _endpoint(session, me.program_id, endpoint_id)
    secret = new_secret()
    endpoint.secret_encrypted = encrypt_secret(credential_key, me.program_id, secret)
    endpoint.secret_hint = secret[:10]
    endpoint.secret_rotated_at = utcnow()
    session.flush()
    audit.record(session, me, "webhook.rotate", object_type="webhook_endpoint", object_id=endpoint.id)
    return NewSecret(endpoint, secret)


def set_enabled(session: Session, me: Member, endpoint_id: int, *, enabled: bool) -> WebhookEndpoint:
    """Switch an endpoint off (no new deliveries) or on again (audited ``webhook.disable``/``enable``)."""
    endpoint = _endpoint(session, me.program_id, endpoint_id)
    if endpoint.enabled != enabled:
        endpoint.enabled = enabled
        endpoint.disabled_at = None if enabled else utcnow()
        session.flush()
        audit.record(
            session,
            me,
            "webhook.enable" if enabled else "webhook.disable",
            object_type="webhook_endpoint",
            object_id=endpoint.id,
        )
    return endpoint


def endpoints(session: Session, program_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.program_id == program_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def endpoint_page(
    session: Session, program_id: int, *, after: int = 0, limit: int = 50
) -> tuple[list[WebhookEndpoint], bool]:
    """One page of the program's endpoints by id (``after``: ids above it), and whether more follow."""
    rows = list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.program_id == program_id, WebhookEndpoint.id > after)
            .order_by(WebhookEndpoint.id)
            .limit(limit + 1)
        )
    )
    return rows[:limit], len(rows) > limit


def endpoint_of(session: Session, program_id: int, endpoint_id: int) -> WebhookEndpoint:
    return _endpoint(session, program_id, endpoint_id)


# ---------------------------------------------------------------------------------------- deliveries
def _payload(event_type: str, data: Mapping[str, Any], now: dt.datetime) -> str:
    body = {"type": event_type, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": dict(data)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def _write_delivery(
    session: Session, endpoint: WebhookEndpoint, event_type: str, data: Mapping[str, Any], now: dt.datetime
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        program_id=endpoint.program_id,
        event_type=event_type,
        msg_id=f"msg_{uuid.uuid4().hex}",
        payload_json=_payload(event_type, data, now),
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    enqueue_attempt(session, delivery)
    return delivery


def enqueue_attempt(
    session: Session, delivery: WebhookDelivery, *, run_after: dt.datetime | None = None
) -> None:
    """A job for the delivery's next try (one job per try: a try is never queued twice)."""
    jobs.enqueue(
        session,
        DELIVER_JOB,
        {"delivery_id": delivery.id},
        dedupe_key=f"{DELIVER_JOB}:{delivery.msg_id}:{delivery.attempts}",
        program_id=delivery.program_id,
        run_after=run_after,
    )


def emit(session: Session, program_id: int, event_type: str, data: Mapping[str, Any]) -> None:
    """Write a delivery for every enabled endpoint of the program subscribed to ``event_type``, and
    enqueue its job, in the caller's transaction. ``data``: ids and API paths only."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    now = utcnow()
    for endpoint in session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.program_id == program_id, WebhookEndpoint.enabled.is_(True)
        )
    ):
        if event_type in endpoint.event_set:
            _write_delivery(session, endpoint, event_type, data, now)


def send_test(session: Session, me: Member, endpoint_id: int) -> WebhookDelivery:
    """A ``webhook.test`` event to one endpoint (audited ``webhook.test``)."""
    endpoint = _endpoint(session, me.program_id, endpoint_id)
    delivery = _write_delivery(
        session, endpoint, TEST_EVENT, {"endpoint_id": endpoint.id, "program_id": me.program_id}, utcnow()
    )
    audit.record(
        session,
        me,
        "webhook.test",
        object_type="webhook_endpoint",
        object_id=endpoint.id,
        detail={"msg_id": delivery.msg_id},
    )
    return delivery


def retry_now(session: Session, me: Member, delivery_id: int) -> WebhookDelivery:
    """Try a failed (or waiting) delivery again now, with the same ``webhook-id`` (audited)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.program_id != me.program_id:
        raise NotFound("No such delivery.")
    if delivery.status == DeliveryStatus.SUCCEEDED:
        raise InvalidInput("This delivery has already arrived; it is not sent again.")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = utcnow()
    session.flush()
    jobs.enqueue(
        session,
        DELIVER_JOB,
        {"delivery_id": delivery.id},
        dedupe_key=f"{DELIVER_JOB}:{delivery.msg_id}:{delivery.attempts}:retry",
        program_id=delivery.program_id,
    )
    audit.record(
        session,
        me,
        "webhook.retry",
        object_type="webhook_delivery",
        object_id=delivery.id,
        detail={"msg_id": delivery.msg_id},
    )
    return delivery


def deliveries(
    session: Session, program_id: int, *, endpoint_id: int | None = None, after: int = 0, limit: int = 50
) -> list[WebhookDelivery]:
    """The program's deliveries, newest first (``after``: ids below it, for paging)."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.program_id == program_id)
    if endpoint_id is not None:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    if after:
        stmt = stmt.where(WebhookDelivery.id < after)
    return list(session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit)))


def delivery_page(
    session: Session,
    program_id: int,
    *,
    endpoint_id: int | None = None,
    event_type: str | None = None,
    status: DeliveryStatus | None = None,
    before: int = 0,
    limit: int = 50,
) -> tuple[list[WebhookDelivery], bool]:
    """One page of the program's deliveries, newest first (``before``: only ids below it; 0 for the
    first page), optionally of one endpoint, event type or status; and whether more follow."""
    stmt = select(WebhookDelivery).where(WebhookDelivery.program_id == program_id)
    if endpoint_id is not None:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    if event_type is not None:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if before:
        stmt = stmt.where(WebhookDelivery.id < before)
    rows = list(session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def delivery_of(session: Session, program_id: int, delivery_id: int) -> WebhookDelivery:
    """One of the program's deliveries, else NotFound (another program's too)."""
    found = session.get(WebhookDelivery, delivery_id) if 0 < delivery_id < 2**31 else None
    if found is None or found.program_id != program_id:
        raise NotFound("No such delivery.")
    return found


def attempts_of(session: Session, delivery_ids: Iterable[int]) -> dict[int, list[WebhookAttempt]]:
    ids = list(delivery_ids)
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        for a in session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)).order_by(WebhookAttempt.id)
        ):
            found[a.delivery_id].append(a)
    return found


def counts_by_status(session: Session, endpoint_id: int) -> dict[str, int]:
    rows = session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .group_by(WebhookDelivery.status)
    )
    return {str(status): int(n) for status, n in rows}


# ------------------------------------------------------------------- one try (used by the delivery job)
@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    msg_id: str
    url: str
    payload: str
    number: int  # 1 for the first try
    endpoint: WebhookEndpoint


def start_attempt(session: Session, delivery_id: int, now: dt.datetime) -> Attempt | None:
    """Claim the delivery's next try (a conditional UPDATE: two workers never make the same try);
    None when it has arrived, failed for good or its endpoint is switched off. When a try is due is
    the job's business (each try is a job that runs after its wait)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return None
    seen = delivery.attempts
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.attempts == seen,
        )
        .values(attempts=seen + 1, last_attempt_at=now, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    if rows_matched(result) != 1:
        return None
    return Attempt(delivery.id, delivery.msg_id, endpoint.url, delivery.payload_json, seen + 1, endpoint)


def finish_attempt(
    session: Session,
    attempt: Attempt,
    *,
    now: dt.datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> DeliveryStatus:
    """Record the try; on failure schedule the next (a job that runs after the wait) or give up."""
    ok = error is None and status_code is not None and 200 <= status_code < 300
    session.add(
        WebhookAttempt(
            delivery_id=attempt.delivery_id,
            attempted_at=now,
            status_code=status_code,
            error=None if ok else (error or f"The endpoint answered {status_code}.")[:ERROR_MAX_CHARS],
            duration_ms=duration_ms,
        )
    )
    delivery = session.get(WebhookDelivery, attempt.delivery_id)
    assert delivery is not None
    session.refresh(delivery)
    delivery.last_status_code = status_code
    if ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.succeeded_at = now
        delivery.last_error = None
    else:
        delivery.last_error = (error or f"The endpoint answered {status_code}.")[:ERROR_MAX_CHARS]
        if attempt.number >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.next_attempt_at = now + RETRY_SCHEDULE[attempt.number - 1]
            session.flush()
            enqueue_attempt(session, delivery, run_after=delivery.next_attempt_at)
    session.flush()
    return delivery.status
