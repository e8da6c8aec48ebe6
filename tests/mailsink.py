"""A local SMTP sink (aiosmtpd on loopback) for tests that send real mail, and helpers to read it.

Used by the onboarding and drift tests (through their ``smtp_sink`` fixture) and by the browser tests,
whose gunicorn server sends its mail here.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from .server import free_port


class Sink:
    """Every message the SMTP server accepted, parsed, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


@contextmanager
def running_sink(sink: Sink | None = None) -> Iterator[Sink]:
    """An SMTP server on a free loopback port, delivering into ``sink`` (default a new :class:`Sink`)."""
    sink = sink or Sink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def link_of(msg: EmailMessage) -> str:
    """The one link in the plain-text body (what a person would click)."""
    links = re.findall(r"https?://\S+", text_of(msg))
    assert len(links) == 1, links
    return str(links[0])


def link_path(msg: EmailMessage) -> str:
    """The path of the one link in the plain-text body."""
    return urlsplit(link_of(msg)).path
