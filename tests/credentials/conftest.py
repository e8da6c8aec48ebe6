"""Credential tests run with an https public base URL and no network: the JSON-LD library's own
document loader is replaced by one that fails, and any connection off this machine is refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pyld import jsonld

BASE = "https://calibration.example.test"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse_loader(url: str, options: Any = None) -> Any:
        raise AssertionError(f"the JSON-LD library tried to load {url}")

    real_connect = socket.socket.connect

    def local_only(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            raise AssertionError(f"a connection off this machine was attempted: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(jsonld, "_default_document_loader", refuse_loader)
    monkeypatch.setattr(socket.socket, "connect", local_only)
    yield


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PUBLIC_BASE_URL": BASE, "CREDENTIAL_KEY": "test-credential-key-" + "k" * 24}
