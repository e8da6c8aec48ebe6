"""Webhooks: deliveries written with the change, signed in the Standard Webhooks form (checked with
the same library), retried with the same webhook-id, never sent twice once arrived."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from calibration.db import get_db, utcnow, write_intent
from calibration.models import AuditEvent, DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from calibration.notify.queue import run_due_jobs
from calibration.services import rounds, webhooks
from calibration.services.context import Member
from calibration.services.errors import InvalidInput

from .helpers import receiver

KEY = "test-credential-key-with-enough-length-012345"


def trainer(world) -> Member:
    return Member(world.ids["trainer"], world.program_a)


def _endpoint(app, world, url: str, events=(webhooks.ROUND_CLOSED,)) -> tuple[int, str]:
    with app.app_context(), write_intent(), get_db(app).sessionmaker() as session:
        made = webhooks.create_endpoint(
            session,
            trainer(world),
            url=url,
            description="Scoring platform",
            event_types=events,
            credential_key=KEY,
        )
        session.commit()
        return made.endpoint.id, made.secret


def _close_round(app, world) -> None:
    with app.app_context(), write_intent(), get_db(app).sessionmaker() as session:
        rounds.close_round(session, trainer(world), program_id=world.program_a, round_id=world.round_id)
        session.commit()  # JOBS_IMMEDIATE: the delivery job runs right after this commit


def test_closing_a_round_delivers_a_signed_event(app, world, db):
    with receiver() as hook:
        endpoint_id, secret = _endpoint(app, world, hook.url)
        assert secret.startswith("whsec_")
        _close_round(app, world)
        assert len(hook.received) == 1
        got = hook.received[0]
        body = Webhook(secret).verify(got.body, got.headers)
        assert body["type"] == "round.closed"
        assert body["data"]["round_id"] == world.round_id
        assert body["data"]["links"]["report"] == f"/api/v1/rounds/{world.round_id}/report"
        with pytest.raises(WebhookVerificationError):
            Webhook(webhooks.new_secret()).verify(got.body, got.headers)
    delivery = db.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.SUCCEEDED,
        1,
        200,
    )
    assert delivery.msg_id == got.headers["webhook-id"]
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    assert secret not in endpoint.secret_encrypted and endpoint.secret_hint == secret[:10]
    assert "webhook.create" in db.scalars(select(AuditEvent.action)).all()
    # Nothing is sent again: running every due job later finds the delivery done.
    with receiver() as again:
        assert run_due_jobs(app, now=utcnow() + dt.timedelta(days=2)) == 0
        assert again.received == []


def test_a_failed_try_is_retried_with_the_same_webhook_id(app, world, db):
    with receiver(answers=[500, 503]) as hook:
        _endpoint(app, world, hook.url)
        _close_round(app, world)
        assert len(hook.received) == 1  # the first try, answered 500
        delivery = db.scalar(select(WebhookDelivery))
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            DeliveryStatus.PENDING,
            1,
            500,
        )
        assert delivery.next_attempt_at - delivery.last_attempt_at >= webhooks.RETRY_SCHEDULE[0]
        run_due_jobs(app, now=utcnow() + dt.timedelta(seconds=10))  # the second try: 503
        run_due_jobs(app, now=utcnow() + dt.timedelta(minutes=10))  # the third: 200
        assert len(set(hook.msg_ids())) == 1 and len(hook.received) == 3
    db.rollback()
    delivery = db.scalar(select(WebhookDelivery))
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 3)
    codes = db.scalars(select(WebhookAttempt.status_code).order_by(WebhookAttempt.id)).all()
    assert codes == [500, 503, 200]


def test_an_endpoint_that_never_answers_fails_after_the_schedule_and_can_be_retried(app, world, db):
    with receiver(answers=[500] * (webhooks.MAX_ATTEMPTS + 1)) as hook:
        _endpoint(app, world, hook.url)
        _close_round(app, world)
        when = utcnow()
        for wait in webhooks.RETRY_SCHEDULE:
            when += wait + dt.timedelta(seconds=1)
            run_due_jobs(app, now=when)
        db.rollback()
        delivery = db.scalar(select(WebhookDelivery))
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, webhooks.MAX_ATTEMPTS)
        with app.app_context(), write_intent(), get_db(app).sessionmaker() as session:
            webhooks.retry_now(session, trainer(world), delivery.id)
            session.commit()
        assert len(hook.received) == webhooks.MAX_ATTEMPTS + 1
        assert len(set(hook.msg_ids())) == 1


def test_only_subscribed_enabled_endpoints_of_the_program_get_events(app, world, db):
    with receiver() as hook:
        _endpoint(app, world, hook.url, events=(webhooks.FLAG_RAISED,))
        off, _ = _endpoint(app, world, hook.url)
        with app.app_context(), write_intent(), get_db(app).sessionmaker() as session:
            webhooks.set_enabled(session, trainer(world), off, enabled=False)
            session.commit()
        _close_round(app, world)
        assert hook.received == []
    assert db.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


@pytest.mark.parametrize(
    "url", ["ftp://example.org/x", "file:///etc/passwd", "javascript:alert(1)", "https://", "", "https://a b"]
)
def test_endpoint_urls_must_be_http(app, world, url):
    with app.app_context(), write_intent(), get_db(app).sessionmaker() as session:
        with pytest.raises(InvalidInput) as refused:
            webhooks.create_endpoint(
                session,
                trainer(world),
                url=url,
                description="",
                event_types=[webhooks.ROUND_CLOSED],
                credential_key=KEY,
            )
        assert "url" in refused.value.field_errors


def test_rotating_the_secret_signs_with_the_new_one(app, world, db):
    with receiver() as hook:
        endpoint_id, old = _endpoint(app, world, hook.url)
        with app.app_context(), write_intent(), get_db(app).sessionmaker() as session:
            new = webhooks.rotate_secret(session, trainer(world), endpoint_id, credential_key=KEY).secret
            webhooks.send_test(session, trainer(world), endpoint_id)
            session.commit()
        got = hook.received[0]
        assert Webhook(new).verify(got.body, got.headers)["data"]["endpoint_id"] == endpoint_id
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(got.body, got.headers)
