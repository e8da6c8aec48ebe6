"""The webhook delivery job: one signed POST per try (see :mod:`calibration.services.webhooks`).

Each try is claimed on the delivery row before the request is made and recorded after it, each in
a short transaction of its own; a failed try enqueues the next one after its wait. Signed with the
``standardwebhooks`` library: headers ``webhook-id`` (the delivery's message id, the same on every
try), ``webhook-timestamp`` and ``webhook-signature``. At least once: a worker killed between the
request and its record sends the same message again, with the same ``webhook-id``, which is how
receivers recognise a repeat (Standard Webhooks asks them to).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import requests
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from ..db import utcnow, write_intent
from ..services import jobs, webhooks

log = logging.getLogger(__name__)

USER_AGENT = "AssessorCalibration-Webhooks/1"


def signed_headers(secret: str, msg_id: str, timestamp: dt.datetime, body: str) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _post(url: str, headers: dict[str, str], body: str, timeout: float) -> tuple[int | None, str | None]:
    try:
        response = requests.post(
            url, data=body.encode(), headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        return None, f"No answer within {timeout:g} seconds."
    except requests.RequestException as exc:
        return None, f"Could not connect ({exc.__class__.__name__})."
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"The endpoint answered {response.status_code}."


@jobs.handler(webhooks.DELIVER_JOB)
def deliver(maker: sessionmaker[Session], payload: dict[str, Any]) -> None:
    """Make the delivery's next try, if it is due and has not arrived yet (idempotent)."""
    delivery_id = int(payload["delivery_id"])
    key = str(current_app.config["CREDENTIAL_KEY"])
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", webhooks.TIMEOUT_SECONDS))
    now = utcnow()
    with write_intent(), maker() as session:
        attempt = webhooks.start_attempt(session, delivery_id, now)
        if attempt is None:
            return
        secret = webhooks.decrypt_secret(key, attempt.endpoint)
        session.commit()
    headers = signed_headers(secret, attempt.msg_id, now, attempt.payload)
    started = time.monotonic()
    status_code, error = _post(attempt.url, headers, attempt.payload, timeout)
    took = int((time.monotonic() - started) * 1000)
    with write_intent(), maker() as session:
        webhooks.finish_attempt(
            session, attempt, now=utcnow(), status_code=status_code, error=error, duration_ms=took
        )
        session.commit()
