"""Onboarding tests send real mail: a local SMTP sink (aiosmtpd) on loopback receives it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..mailsink import Sink, html_of, link_path, running_sink, text_of

__all__ = ["Sink", "html_of", "link_path", "text_of"]


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    with running_sink() as sink:
        yield sink


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp_sink: Sink) -> dict[str, Any]:
    return {
        **app_config,
        "MAIL_BACKEND": "smtp",
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": smtp_sink.port,
        "MAIL_SECURITY": "none",
        "MAIL_SENDER": "Calibration <calibration@example.test>",
    }
