"""Access rows for the webhooks page (issue 18 item 7): admins and lead trainers, in their own
program. The world has no endpoint, so an endpoint's page is 404 for everyone here;
tests/jobs/test_webhook_pages.py opens program A's endpoint as each role."""

from __future__ import annotations

from typing import Any

ACCESS: dict[str, dict[str, int]] = {
    "webhooks.webhooks_page": {"admin": 200, "trainer": 200, "trainer_b": 200},
    "webhooks.endpoint_page": {},  # no endpoint in the world: 404
    "webhooks.create": {},  # POST only
    "webhooks.rotate": {},
    "webhooks.disable": {},
    "webhooks.enable": {},
    "webhooks.send_test": {},
    "webhooks.retry_delivery": {},
    "webhooks.retry_job": {},
}


def URL_VALUES(world: Any) -> dict[str, int]:
    return {"endpoint_id": 1, "delivery_id": 1, "job_id": 1}
