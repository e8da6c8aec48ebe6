"""Computed reports and rendered charts kept on disk, shared by every process of one installation.

The in-process caches (:mod:`calibration.services.report_cache`) save recomputing a report only until
the process ends; after a restart (or in another worker) the first request would pay the full cost of
the statistics and the charts again. This store keeps each value in a folder (``CACHE_DIR``, default
``instance/cache``) through cachelib's ``FileSystemCache``, under its cache key *and* a version of the
code that computes it (a digest of the source of ``calibration/stats``, ``calibration/services`` and
whatever the caller adds), so a stored value is never stale: keys are derived from what the database
says, and new code simply misses.

It decides nothing: an empty, unreadable or unwritable folder only means the value is computed again.
Values are pickled; the folder is the application's own (like its SQLite file), never user input.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import logging
import pickle
import threading
from collections.abc import Hashable
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cachelib import FileSystemCache

__all__ = ["clear", "code_version", "configure", "load", "save"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_store: FileSystemCache | None = None


def configure(directory: str | None, *, files: int = 2000) -> None:
    """Use ``directory`` from now on (None or empty: no store). Called by the app factory."""
    global _store
    with _lock:
        if not directory:
            _store = None
            return
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            _store = FileSystemCache(directory, threshold=files, default_timeout=0)
        except OSError as exc:
            log.warning("cache folder %s cannot be used: %s", directory, exc)
            _store = None


@cache
def code_version(*extra_files: str) -> str:
    """A digest of the code that computes stored values (plus ``extra_files``, e.g. the chart module)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted([*root.joinpath("stats").glob("*.py"), *root.joinpath("services").glob("*.py")]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    for name in extra_files:
        h.update(Path(name).read_bytes())
    return h.hexdigest()[:16]


def _name(namespace: str, key: Hashable, version: str) -> str:
    return hashlib.sha256(f"{namespace}\x1f{version}\x1f{key!r}".encode()).hexdigest()


def _proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """Rebuild a read-only mapping when a stored value is loaded."""
    return MappingProxyType(items)


def _reduce_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _proxy, (dict(proxy),)


def _dumps(value: Any) -> bytes:
    """Pickle ``value``; the statistics' read-only mappings (``MappingProxyType``) travel as copies."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _reduce_proxy}
    pickler.dump(value)
    return buf.getvalue()


def load(namespace: str, key: Hashable, *, version: str | None = None) -> Any:
    """The stored value, or ``None`` when there is none (or no store)."""
    store = _store
    if store is None:
        return None
    try:
        data = store.get(_name(namespace, key, version or code_version()))
        return None if data is None else pickle.loads(data)
    except Exception:  # a damaged file is a miss, never an error page
        log.warning("could not read a cached %s", namespace, exc_info=True)
        return None


def save(namespace: str, key: Hashable, value: Any, *, version: str | None = None) -> None:
    """Store ``value`` (quietly nothing when there is no store or it cannot be written)."""
    store = _store
    if store is None or value is None:
        return
    try:
        data = _dumps(value)  # before touching the folder: a value that cannot be stored leaves no file
        store.set(_name(namespace, key, version or code_version()), data)
    except Exception:  # an unwritable folder only costs the next process a recompute
        log.warning("could not store a cached %s", namespace, exc_info=True)


def clear() -> None:
    """Empty the store (the benchmarks use it to time a cold page)."""
    store = _store
    if store is not None:
        store.clear()
