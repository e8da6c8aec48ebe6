"""Payloads of the webhook endpoints (issue 18, item 7), declared once as pydantic models.

What the ``admin`` scope reads is what the Webhooks pages show: each endpoint's address, events
and state, and each delivery with every try (time, answer, error) and its next try. Never a signing
secret (nor its first characters) and never a delivery's payload."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...services.api_reads import MAX_ID
from .schemas import Out, PageQuery, UtcTime

#: The event types a delivery may carry (``services.webhooks.EVENT_TYPES`` and the test event).
EventType = Literal["flag.raised", "certification.changed", "round.closed", "validity.scored", "webhook.test"]
DeliveryState = Literal["pending", "succeeded", "failed"]


class DeliveryQuery(PageQuery):
    endpoint_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only deliveries to this endpoint.")
    event_type: EventType | None = Field(None, description="Only this event type.")
    status: DeliveryState | None = Field(
        None, description="Only this status: pending (waiting for a try), succeeded or failed."
    )


class DeliveryCountsOut(Out):
    pending: int
    succeeded: int
    failed: int


class EndpointOut(Out):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool = Field(description="False when switched off: no new deliveries are made for it.")
    created_at: UtcTime
    disabled_at: UtcTime | None
    secret_rotated_at: UtcTime | None = Field(description="When its secret was last replaced.")
    deliveries: DeliveryCountsOut


class AttemptOut(Out):
    attempted_at: UtcTime
    status_code: int | None = Field(description="The endpoint's HTTP status; null when no answer came.")
    error: str | None = Field(description="Why the try failed; null when it succeeded.")
    duration_ms: int


class DeliveryOut(Out):
    id: int
    endpoint_id: int
    msg_id: str = Field(description="The `webhook-id` header, the same on every try.")
    event_type: str
    status: DeliveryState
    created_at: UtcTime
    attempt_count: int
    next_attempt_at: UtcTime | None = Field(description="When the next try is due (pending ones only).")
    last_attempt_at: UtcTime | None
    succeeded_at: UtcTime | None
    attempts: list[AttemptOut] = Field(description="Every try, oldest first.")
