"""Webhooks: a program's endpoints and the durable outbox of deliveries to them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow
from .people import _enum


class WebhookEndpoint(Base):
    """Where a program wants events sent. The signing secret is stored encrypted (AES-GCM under a
    key derived from ``CREDENTIAL_KEY``) and shown only when it is made or rotated."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[str] = mapped_column(String(200))  # space-separated, sorted
    secret_encrypted: Mapped[str] = mapped_column(Text)  # base64 nonce + ciphertext
    secret_hint: Mapped[str] = mapped_column(String(16))  # "whsec_" and the first characters
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    secret_rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def event_set(self) -> frozenset[str]:
        return frozenset(self.event_types.split())


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first or a further attempt
    SUCCEEDED = "succeeded"  # the endpoint answered 2xx; never sent again
    FAILED = "failed"  # every attempt failed; sent again only on "retry now"


class WebhookDelivery(Base):
    """One event for one endpoint. ``msg_id`` is the ``webhook-id`` header, the same on every try."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_endpoint_id_id", "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(60))
    msg_id: Mapped[str] = mapped_column(String(60), unique=True)
    payload_json: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    succeeded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebhookAttempt(Base):
    """One try of a delivery: when, the status code (None when no answer came) and the error."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
