"""The webhooks page: admins and lead trainers of the program only; the secret shown once; bad input
kept and refused with a message, nothing written; test events and "retry now" delivered and audited."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from calibration.models import AuditEvent, DeliveryStatus, WebhookDelivery, WebhookEndpoint

from ..conftest import post_form
from .helpers import receiver

SECRET = re.compile(r'id="new-secret"[^>]*value="(whsec_[^"]+)"')


def _add(client, url: str, events=("round.closed",)):
    return post_form(
        client,
        "/trainer/webhooks/new",
        {"url": url, "description": "Scoring platform", "event_types": list(events)},
        token_page="/trainer/webhooks",
    )


def test_trainer_adds_an_endpoint_sees_the_secret_once_and_sends_a_test(client, login, world, db):
    login(world.emails["trainer"])
    with receiver() as hook:
        added = _add(client, hook.url)
        assert added.status_code == 200
        secret = SECRET.search(added.get_data(as_text=True)).group(1)
        endpoint = db.scalar(select(WebhookEndpoint))
        assert endpoint.program_id == world.program_a and secret not in endpoint.secret_encrypted
        listing = client.get("/trainer/webhooks").get_data(as_text=True)
        assert hook.url in listing and secret not in listing
        page = f"/trainer/webhooks/{endpoint.id}"
        assert secret not in client.get(page).get_data(as_text=True)
        sent = post_form(client, f"{page}/test", {}, token_page=page)
        assert sent.status_code == 302
        got = hook.received[0]
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "webhook.test"
        shown = client.get(page).get_data(as_text=True)
        assert got.headers["webhook-id"] in shown and "delivered" in shown
    db.rollback()
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"webhook.create", "webhook.test"} <= actions


def test_a_bad_address_is_refused_kept_and_nothing_is_written(client, login, world, db):
    login(world.emails["admin"])
    refused = _add(client, "ftp://example.org/hooks")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "must start with https://" in html and 'value="ftp://example.org/hooks"' in html
    none_chosen = _add(client, "https://example.org/hooks", events=())
    assert none_chosen.status_code == 400 and "Choose at least one event." in none_chosen.get_data(
        as_text=True
    )
    db.rollback()
    assert db.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_other_programs_and_assessors_never_see_an_endpoint(client, login, world, db):
    login(world.emails["trainer"])
    _add(client, "https://alpha-platform.test/hooks")
    endpoint_id = db.scalar(select(WebhookEndpoint.id))
    client.post("/logout", data={"csrf_token": ""})
    for who in ("trainer_b", "assessor"):
        other = client.application.test_client()
        post_form(other, "/login", {"email": world.emails[who], "password": "pw-for-tests"})
        assert other.get(f"/trainer/webhooks/{endpoint_id}").status_code == 404
        if who == "trainer_b":
            assert "alpha-platform.test" not in other.get("/trainer/webhooks").get_data(as_text=True)
            token_page = "/trainer/webhooks"
            assert (
                post_form(
                    other, f"/trainer/webhooks/{endpoint_id}/rotate", {}, token_page=token_page
                ).status_code
                == 404
            )


def test_retry_now_sends_a_failed_delivery_again_with_the_same_id(client, login, world, db):
    login(world.emails["trainer"])
    with receiver(answers=[500]) as hook:
        _add(client, hook.url)
        endpoint_id = db.scalar(select(WebhookEndpoint.id))
        page = f"/trainer/webhooks/{endpoint_id}"
        post_form(client, f"{page}/test", {}, token_page=page)
        db.rollback()
        delivery = db.scalar(select(WebhookDelivery))
        assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code == 500
        assert "Retry now" in client.get(page).get_data(as_text=True)
        again = post_form(client, f"/trainer/webhooks/deliveries/{delivery.id}/retry", {}, token_page=page)
        assert again.status_code == 302
        assert len(hook.received) == 2 and len(set(hook.msg_ids())) == 1
    db.rollback()
    assert db.get(WebhookDelivery, delivery.id).status == DeliveryStatus.SUCCEEDED
    assert "webhook.retry" in set(db.scalars(select(AuditEvent.action)))


def test_delivery_times_are_in_the_programs_zone_named(client, login, world, db):
    """A New York program reads its deliveries' and tries' times in New York time, named."""
    import datetime as dt

    from calibration.models import Program, WebhookAttempt

    db.get(Program, world.program_a).timezone = "America/New_York"
    db.commit()
    login(world.emails["trainer"])
    with receiver() as hook:
        _add(client, hook.url)
        endpoint_id = db.scalar(select(WebhookEndpoint.id))
        page = f"/trainer/webhooks/{endpoint_id}"
        post_form(client, f"{page}/test", {}, token_page=page)
    db.rollback()
    delivery = db.scalar(select(WebhookDelivery))
    delivery.created_at = dt.datetime(2026, 12, 8, 3, 30, 5, tzinfo=dt.UTC)
    db.commit()
    shown = client.get(page).get_data(as_text=True)
    assert "7 December 2026, 22:30:05 EST" in shown
    assert " UTC" not in shown
    assert db.scalar(select(func.count()).select_from(WebhookAttempt)) >= 1
