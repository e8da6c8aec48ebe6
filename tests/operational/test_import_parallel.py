"""Storing an import's chunks (issue 18): on PostgreSQL two chunks at once, each on its own
connection, never more in flight or in memory; on SQLite one after another. Either way the
progress only rises and always counts exactly the rows committed, and a chunk that fails takes
its rows and its progress with it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.db import get_db
from calibration.models import ImportStatus, OperationalImport, OperationalRating
from calibration.services import operational_import
from calibration.services.operational_store import Columns

from ..factories_operational import make_import, rows_csv

PATIENCE = 120.0  # seconds: only a guard against a hung test, never a measure of speed


class Watch:
    """Counts, across threads, the chunks read and not yet stored and the inserts running."""

    def __init__(self, overlap: bool) -> None:
        self.lock = threading.Lock()
        self.held = self.running = self.max_held = self.max_running = 0
        self.threads: set[int] = set()
        # Two inserts wait for each other once: they can only both arrive if they overlap.
        self.meet = threading.Barrier(2, timeout=PATIENCE) if overlap else None

    def read(self, chunks: Iterator[Columns]) -> Iterator[Columns]:
        for chunk in chunks:
            with self.lock:
                self.held += 1
                self.max_held = max(self.max_held, self.held)
            yield chunk

    def insert(self, real: Any, fail_on: int | None = None) -> Any:
        calls = [0]

        def insert_chunk(session: Any, batch: Any, columns: Columns) -> int:
            with self.lock:
                calls[0] += 1
                call = calls[0]
                self.running += 1
                self.max_running = max(self.max_running, self.running)
                self.threads.add(threading.get_ident())
            try:
                if self.meet is not None and call <= 2:
                    self.meet.wait()
                inserted = real(session, batch, columns)
                if call == fail_on:
                    raise RuntimeError("the database went away")  # after the rows were inserted
                return inserted
            finally:
                with self.lock:
                    self.running -= 1
                    self.held -= 1

        return insert_chunk


def _progress(app: Any, import_id: int) -> tuple[int, int, int]:
    """The import's (rows_stored, rows_already) and its rows in the table, read in one statement."""
    count = (
        select(func.count())
        .select_from(OperationalRating)
        .where(OperationalRating.import_id == import_id)
        .scalar_subquery()
    )
    with get_db(app).sessionmaker() as session:
        stored, already, rows = session.execute(
            select(OperationalImport.rows_stored, OperationalImport.rows_already, count).where(
                OperationalImport.id == import_id
            )
        ).one()
    return int(stored), int(already), int(rows)


def _watch(monkeypatch: pytest.MonkeyPatch, db: Any, fail_on: int | None = None) -> tuple[Watch, bool]:
    postgres = db.get_bind().dialect.name == "postgresql"
    watch = Watch(overlap=postgres)
    real_chunks = operational_import.checked_chunks
    monkeypatch.setattr(operational_import, "checked_chunks", lambda path: watch.read(real_chunks(path)))
    monkeypatch.setattr(
        operational_import, "insert_chunk", watch.insert(operational_import.insert_chunk, fail_on)
    )
    return watch, postgres


def test_chunks_are_stored_two_at_once_on_postgresql_with_rising_exact_progress(
    app, db, world, tmp_path, monkeypatch
):
    earlier = make_import(db, world, rows_csv(1), str(tmp_path / "imports"))
    operational_import.process_import(get_db(app).sessionmaker, earlier)  # 10 rows stored earlier
    import_id = make_import(db, world, rows_csv(6), str(tmp_path / "imports"))  # 60 rows, 8 chunks
    watch, postgres = _watch(monkeypatch, db)
    seen: list[tuple[int, int, int, int]] = []

    def after_chunk(processed: int) -> None:
        seen.append((processed, *_progress(app, import_id)))

    summary = operational_import.process_import(
        get_db(app).sessionmaker, import_id, chunk_size=7, after_chunk=after_chunk
    )

    assert (summary.status, summary.rows_stored, summary.rows_already) == (ImportStatus.DONE, 50, 10)
    assert watch.max_running == (2 if postgres else 1)
    assert len(watch.threads) == (2 if postgres else 1)
    assert watch.max_held <= 2  # never more than two chunks in memory
    assert [p for p, *_ in seen] == sorted(p for p, *_ in seen) and seen[-1][0] == 60
    for _processed, stored, _already, rows in seen:
        assert stored == rows  # each chunk's progress is committed with its rows
    done = [stored + already for _p, stored, already, _r in seen]
    assert done == sorted(done)  # the progress bar never goes back
    assert _progress(app, import_id) == (50, 10, 50)


def test_a_chunk_that_fails_takes_its_rows_and_progress_with_it(app, db, world, tmp_path, monkeypatch):
    import_id = make_import(db, world, rows_csv(5), str(tmp_path / "imports"))  # 50 rows, 8 chunks
    watch, _postgres = _watch(monkeypatch, db, fail_on=3)

    with pytest.raises(RuntimeError, match="went away"):
        operational_import.process_import(get_db(app).sessionmaker, import_id, chunk_size=7)

    assert watch.running == 0  # no insert is left running once the import has failed
    stored, already, rows = _progress(app, import_id)
    assert stored == rows and already == 0
    assert rows % 7 == 0 and rows <= 50 - 7  # whole chunks only, never the one that failed
    db.rollback()
    assert db.get(OperationalImport, import_id).status == ImportStatus.STORING
    monkeypatch.undo()
    summary = operational_import.process_import(get_db(app).sessionmaker, import_id, chunk_size=7)
    assert (summary.status, summary.rows_stored, summary.rows_already) == (ImportStatus.DONE, 50, 0)
    assert _progress(app, import_id) == (50, 0, 50)


def test_rows_stored_by_another_run_after_the_check_are_skipped_not_refused(
    app, db, world, tmp_path, monkeypatch
):
    """A chunk the check found fresh (none of its keys stored) goes straight into the table on
    PostgreSQL; when another run stores some of its keys between the check and the store, the
    chunk still stores exactly the rest and the import counts the others as already stored."""
    folder = str(tmp_path / "imports")
    earlier = make_import(db, world, rows_csv(1), folder)  # 10 rows: submission S-0
    import_id = make_import(db, world, rows_csv(2), folder)  # 20 rows: S-0 again and S-1
    real_compare = operational_import._compare_stored
    raced: list[int] = []

    def compare_then_race(*args: Any) -> int:
        same = real_compare(*args)
        if not raced:  # the earlier import stores S-0 once this chunk was checked
            raced.append(same)
            operational_import.process_import(get_db(app).sessionmaker, earlier)
        return same

    monkeypatch.setattr(operational_import, "_compare_stored", compare_then_race)

    summary = operational_import.process_import(get_db(app).sessionmaker, import_id)

    assert raced == [0]  # the check saw none of the chunk's rows stored
    assert (summary.status, summary.rows_stored, summary.rows_already) == (ImportStatus.DONE, 10, 10)
    assert _progress(app, import_id) == (10, 10, 10)
    assert _progress(app, earlier) == (10, 0, 10)
