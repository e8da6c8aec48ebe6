"""Drift tests send real mail to the onboarding tests' local SMTP sink (aiosmtpd on loopback)."""

from __future__ import annotations

from typing import Any

import pytest

from ..onboarding.conftest import Sink, smtp_sink  # noqa: F401 -- the fixture, reused

__all__ = ["Sink"]


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp_sink: Sink) -> dict[str, Any]:  # noqa: F811
    return {
        **app_config,
        "MAIL_BACKEND": "smtp",
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": smtp_sink.port,
        "MAIL_SECURITY": "none",
        "MAIL_SENDER": "Calibration <calibration@example.test>",
    }
