"""The in-process cache of computed reports.

Entries are keyed by what the database says (see :func:`calibration.services.reports.compute_round_report`),
so any process computes the same answer and a stale entry is never used: the cache only saves work,
it decides nothing. A cache given a ``namespace`` also keeps its entries on disk
(:mod:`calibration.services.report_store`), so a restarted process finds them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

from . import report_store

__all__ = ["ROUND_REPORTS", "ReportCache", "database_identity"]

T = TypeVar("T")


class ReportCache:
    """A small thread-safe LRU. Keys must be derived from the database (see module docstring)."""

    def __init__(self, maxsize: int = 64, *, namespace: str | None = None) -> None:
        """``namespace``: also keep entries on disk under this name (:mod:`.report_store`)."""
        self.maxsize = maxsize
        self.namespace = namespace
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return cast(T, self._data[key])
        if self.namespace is not None:
            stored = report_store.load(self.namespace, key)
            if stored is not None:  # computed before by this or another process, from the same data
                self.put(key, stored)
                return cast(T, stored)
        value = compute()  # outside the lock: two requests may both compute; both answers are equal
        self.put(key, value)
        if self.namespace is not None:
            report_store.save(self.namespace, key, value)
        return value

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


ROUND_REPORTS = ReportCache(maxsize=32, namespace="round-report")


def database_identity(session: Session) -> str:
    """Which database a cache entry came from (several apps, e.g. tests, share one process)."""
    return session.get_bind().engine.url.render_as_string(hide_password=True)
