"""``/webhooks``: a program's webhook endpoints and their deliveries with every try, for a token
with the ``admin`` scope: what the Webhooks pages show admins and lead trainers, never a signing
secret and never a delivery's payload. Reads only: endpoints are added, switched off and retried on
the pages."""

from __future__ import annotations

from flask import Response

from ...db import get_session
from ...models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ...services import webhooks as service
from .blueprint import bp, caller, decode_cursor, json_page, json_response, query
from .schemas import Page, PageQuery
from .spec import first_item, link, operation, this
from .webhook_schemas import AttemptOut, DeliveryCountsOut, DeliveryOut, DeliveryQuery, EndpointOut

SCOPES = ("admin",)
TAG = "webhooks"


def _endpoint(row: WebhookEndpoint) -> EndpointOut:
    counts = service.counts_by_status(get_session(), row.id)
    return EndpointOut(
        id=row.id,
        url=row.url,
        description=row.description,
        event_types=sorted(row.event_set),
        enabled=row.enabled,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        secret_rotated_at=row.secret_rotated_at,
        deliveries=DeliveryCountsOut(**{s.value: counts.get(s.value, 0) for s in DeliveryStatus}),
    )


def _delivery(row: WebhookDelivery, tries: list[WebhookAttempt]) -> DeliveryOut:
    pending = row.status == DeliveryStatus.PENDING
    return DeliveryOut(
        id=row.id,
        endpoint_id=row.endpoint_id,
        msg_id=row.msg_id,
        event_type=row.event_type,
        status=row.status.value,
        created_at=row.created_at,
        attempt_count=row.attempts,
        next_attempt_at=row.next_attempt_at if pending else None,
        last_attempt_at=row.last_attempt_at,
        succeeded_at=row.succeeded_at,
        attempts=[
            AttemptOut(
                attempted_at=a.attempted_at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in tries
        ],
    )


@bp.get("/webhooks/endpoints")
@operation(
    "/webhooks/endpoints",
    summary="List webhook endpoints",
    response=Page[EndpointOut],
    query=PageQuery,
    scopes=SCOPES,
    tag=TAG,
    links=(
        link("GetWebhookEndpoint", "get_webhook_endpoint", endpoint_id=first_item()),
        link("ListItsDeliveries", "list_webhook_deliveries", endpoint_id=first_item()),
    ),
)
def list_webhook_endpoints() -> Response:
    """The program's webhook endpoints, oldest first: address, events, state and how many of their
    deliveries are pending, succeeded and failed. The signing secret is never shown."""
    q = query(PageQuery)
    rows, more = service.endpoint_page(
        get_session(), caller().program_id, after=decode_cursor(q.cursor, "webhook_endpoints"), limit=q.limit
    )
    return json_page("webhook_endpoints", rows, more, _endpoint)


@bp.get("/webhooks/endpoints/<int:endpoint_id>")
@operation(
    "/webhooks/endpoints/{endpoint_id}",
    summary="Get a webhook endpoint",
    response=EndpointOut,
    scopes=SCOPES,
    tag=TAG,
    links=(link("ListItsDeliveries", "list_webhook_deliveries", endpoint_id=this()),),
)
def get_webhook_endpoint(endpoint_id: int) -> Response:
    """One webhook endpoint: address, events, state and its counts of deliveries by status."""
    return json_response(_endpoint(service.endpoint_of(get_session(), caller().program_id, endpoint_id)))


@bp.get("/webhooks/deliveries")
@operation(
    "/webhooks/deliveries",
    summary="List webhook deliveries with their tries",
    response=Page[DeliveryOut],
    query=DeliveryQuery,
    scopes=SCOPES,
    tag=TAG,
    links=(
        link("GetWebhookDelivery", "get_webhook_delivery", delivery_id=first_item()),
        link("GetWebhookEndpoint", "get_webhook_endpoint", endpoint_id=first_item("endpoint_id")),
    ),
)
def list_webhook_deliveries() -> Response:
    """The program's webhook deliveries, newest first, optionally of one endpoint (an endpoint
    outside the program gives an empty list), event type or status; each with every try (time,
    the endpoint's status code, the error) and, while pending, when the next try is due. A
    delivery's payload is not shown (it holds ids and API paths only, readable in the API itself)."""
    q = query(DeliveryQuery)
    session = get_session()
    rows, more = service.delivery_page(
        session,
        caller().program_id,
        endpoint_id=q.endpoint_id,
        event_type=q.event_type,
        status=None if q.status is None else DeliveryStatus(q.status),
        before=decode_cursor(q.cursor, "webhook_deliveries"),
        limit=q.limit,
    )
    tries = service.attempts_of(session, [r.id for r in rows])
    return json_page("webhook_deliveries", rows, more, lambda r: _delivery(r, tries[r.id]))


@bp.get("/webhooks/deliveries/<int:delivery_id>")
@operation(
    "/webhooks/deliveries/{delivery_id}",
    summary="Get a webhook delivery with its tries",
    response=DeliveryOut,
    scopes=SCOPES,
    tag=TAG,
    links=(link("GetWebhookEndpoint", "get_webhook_endpoint", endpoint_id=this("endpoint_id")),),
)
def get_webhook_delivery(delivery_id: int) -> Response:
    """One webhook delivery with every try and, while pending, when the next try is due."""
    session = get_session()
    row = service.delivery_of(session, caller().program_id, delivery_id)
    return json_response(_delivery(row, service.attempts_of(session, [row.id])[row.id]))
