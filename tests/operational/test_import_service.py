"""The operational ratings import (issue 18 item 4): every error kind named by row and column,
nothing written unless every row passes, idempotent re-import, conflicts, resuming after a crash,
and stored rows that cannot be changed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from calibration.db import get_db
from calibration.models import AuditEvent, ImportStatus, OperationalImport, OperationalRating
from calibration.services import operational_import
from calibration.services.operational_import import error_report_csv, process_import

from ..factories_operational import HEADER, make_import, rows_csv


def _run(app: Any, import_id: int, **kw: Any) -> operational_import.ImportSummary:
    return process_import(get_db(app).sessionmaker, import_id, **kw)


def _count(db: Any) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(OperationalRating)))


def _errors(db: Any, import_id: int) -> list[dict[str, Any]]:
    db.rollback()
    imp = db.get(OperationalImport, import_id)
    return json.loads(imp.errors_json)


def test_a_good_file_is_stored_in_utc_with_its_counts(app, db, world, tmp_path):
    import_id = make_import(db, world, rows_csv(3), str(tmp_path / "imports"))
    summary = _run(app, import_id, chunk_size=7)
    assert (summary.status, summary.rows_total, summary.rows_stored, summary.rows_already) == (
        ImportStatus.DONE, 30, 30, 0,
    )  # fmt: skip
    assert _count(db) == 30
    first = db.scalars(select(OperationalRating).order_by(OperationalRating.id)).first()
    assert first.external_submission_id == "S-0" and first.read_number == 1
    assert first.scored_at == dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert first.assessor_id == world.ids["assessor"]
    imp = db.get(OperationalImport, import_id)
    assert imp.upload_path is None and not list(
        (tmp_path / "imports").iterdir()
    )  # the file is gone once done
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "operational_import")))
    assert {"operational_import.create", "operational_import.check", "operational_import.store",
            "operational_import.done"} <= actions  # fmt: skip


BAD_ROWS = [
    ("S-1,time-audit,nobody@a.test,2,1,2026-03-01T10:00:00Z", "assessor"),
    ("S-2,no-such-criterion,assessor@a.test,2,1,2026-03-01T10:00:00Z", "criterion"),
    ("S-3,time-audit,assessor@a.test,7,1,2026-03-01T10:00:00Z", "level"),
    ("S-4,time-audit,assessor@a.test,2,one,2026-03-01T10:00:00Z", "read"),
    ("S-5,time-audit,assessor@a.test,2,1,2026-03-01T10:00:00", "scored_at"),
    ("S-6,time-audit,assessor@a.test,2,1,yesterday", "scored_at"),
    ("=HYPERLINK(1),time-audit,assessor@a.test,2,1,2026-03-01T10:00:00Z", "submission_id"),
    ("S-8,time-audit,assessor@a.test,2,1", "(row)"),
    ("S-9,time-audit,assessor@b.test,2,1,2026-03-01T10:00:00Z", "assessor"),  # another program's
    ("S-10,time-audit,assessor@a.test,2,1,2099-03-01T10:00:00Z", "scored_at"),
]


def test_every_error_kind_is_named_by_row_and_column_and_nothing_is_written(app, db, world, tmp_path):
    good = rows_csv(2).splitlines(keepends=True)
    content = "".join(good) + "".join(line + "\n" for line, _ in BAD_ROWS)
    import_id = make_import(db, world, content, str(tmp_path / "imports"))
    summary = _run(app, import_id)
    assert summary.status == ImportStatus.REJECTED
    assert summary.error_count == len(BAD_ROWS)
    first_bad = len(good) + 1
    assert [(e["row"], e["column"]) for e in _errors(db, import_id)] == [
        (first_bad + i, column) for i, (_, column) in enumerate(BAD_ROWS)
    ]
    assert _count(db) == 0


def test_a_duplicate_within_the_file_names_both_rows(app, db, world, tmp_path):
    content = rows_csv(2) + "S-0,time-audit,assessor@a.test,3,1,2026-03-01T10:00:00Z\n"
    import_id = make_import(db, world, content, str(tmp_path / "imports"))
    assert _run(app, import_id).status == ImportStatus.REJECTED
    (error,) = _errors(db, import_id)
    assert error["row"] == 22 and "row 2" in error["problem"]
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"submission,criterion,assessor,level,read,scored_at\nS-1,x,y,1,1,z\n", "missing submission_id"),
        (b"submission_id,criterion,assessor,level,read\n", "missing scored_at"),
        (b"", "empty"),
        (
            HEADER.encode() + "S-1,time-audit,j\u00f6rg@a.test,2,1,2026-03-01T10:00:00Z\n".encode("latin-1"),
            "UTF-8",
        ),
    ],
    ids=["wrong-column", "missing-column", "empty", "not-utf8"],
)
def test_a_file_that_cannot_be_read_is_rejected_with_a_clear_message(
    app, db, world, tmp_path, content, words
):
    import_id = make_import(db, world, content, str(tmp_path / "imports"))
    assert _run(app, import_id).status == ImportStatus.REJECTED
    (error,) = _errors(db, import_id)
    assert words in error["problem"]
    assert _count(db) == 0


def test_columns_in_another_order_and_a_bom_are_read(app, db, world, tmp_path):
    content = "\ufeffREAD,scored_at,level,assessor,criterion,submission_id\n1,2026-03-01T10:00:00Z,2,Assessor@A.test,time-audit,S-1\n"
    import_id = make_import(db, world, content, str(tmp_path / "imports"))
    assert _run(app, import_id).rows_stored == 1


def test_re_importing_stored_rows_writes_nothing(app, db, world, tmp_path):
    _run(app, make_import(db, world, rows_csv(3), str(tmp_path / "imports")))
    again = _run(app, make_import(db, world, rows_csv(4), str(tmp_path / "imports")))
    assert (again.status, again.rows_stored, again.rows_already) == (ImportStatus.DONE, 10, 30)
    assert _count(db) == 40
    import_id = make_import(db, world, rows_csv(4), str(tmp_path / "imports"))
    third = _run(app, import_id)
    assert (third.rows_stored, third.rows_already) == (0, 40)
    assert _run(app, import_id) == third  # a finished import is left as it is
    assert _count(db) == 40


def test_a_conflict_with_a_stored_row_is_named_and_nothing_is_written(app, db, world, tmp_path):
    _run(app, make_import(db, world, rows_csv(1), str(tmp_path / "imports")))
    changed = rows_csv(3).replace("S-0,time-audit,assessor@a.test,2,", "S-0,time-audit,assessor@a.test,4,")
    assert changed != rows_csv(3)
    import_id = make_import(db, world, changed, str(tmp_path / "imports"))
    assert _run(app, import_id).status == ImportStatus.REJECTED
    (error,) = _errors(db, import_id)
    assert (error["row"], error["column"], error["value"]) == (2, "level", "4")
    assert "level 2" in error["problem"]
    assert _count(db) == 10


class Crash(Exception):
    pass


def test_an_import_killed_half_way_completes_without_duplicates(app, db, world, tmp_path):
    _run(app, make_import(db, world, rows_csv(1), str(tmp_path / "imports")))  # 10 rows stored earlier
    import_id = make_import(db, world, rows_csv(6), str(tmp_path / "imports"))

    def crash(processed: int) -> None:
        if processed >= 14:
            raise Crash()

    with pytest.raises(Crash):
        _run(app, import_id, chunk_size=7, after_chunk=crash)
    db.rollback()
    imp = db.get(OperationalImport, import_id)
    # 14 rows, 10 of them earlier; on PostgreSQL the third chunk was in flight and was committed.
    in_flight = 7 if db.get_bind().dialect.name == "postgresql" else 0
    assert imp.status == ImportStatus.STORING and imp.rows_stored == 4 + in_flight
    assert _count(db) == 14 + in_flight
    summary = _run(app, import_id, chunk_size=7)
    assert (summary.status, summary.rows_stored, summary.rows_already) == (ImportStatus.DONE, 50, 10)
    assert _count(db) == 60
    assert _run(app, import_id, chunk_size=7) == summary


def test_stored_rows_cannot_be_updated_or_deleted(app, db, world, tmp_path, owner_database_url):
    from calibration.db import make_engine

    _run(app, make_import(db, world, rows_csv(1), str(tmp_path / "imports")))
    owner = make_engine(owner_database_url)  # even the tables' owner: the triggers refuse
    try:
        for statement in ("UPDATE operational_rating SET level = 1", "DELETE FROM operational_rating"):
            with pytest.raises(DBAPIError, match=r"immutable|permission denied"):
                db.execute(text(statement))  # the server's role
            db.rollback()
            with owner.begin() as conn, pytest.raises(DBAPIError, match=r"immutable|not allowed|forbid"):
                conn.execute(text(statement))
    finally:
        owner.dispose()
    assert _count(db) == 10


def test_the_error_report_is_formula_safe(app, db, world, tmp_path):
    content = HEADER + "S-1,time-audit,=cmd|' /C calc'!A0,2,1,2026-03-01T10:00:00Z\n"
    import_id = make_import(db, world, content, str(tmp_path / "imports"))
    _run(app, import_id)
    db.rollback()
    report = list(csv.reader(io.StringIO(error_report_csv(db.get(OperationalImport, import_id)))))
    assert report[0] == ["row", "column", "value", "problem"]
    assert report[1][:3] == ["2", "assessor", "'=cmd|' /C calc'!A0"]


def test_a_large_file_with_one_bad_row_near_the_end_writes_nothing(app, db, world, tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(100_000):
            for key in ("time-audit", "priority-analysis"):
                out.write(f"S-{i},{key},assessor@a.test,{1 + i % 4},1,2026-03-01T10:00:00Z\n")
        out.write("S-x,time-audit,assessor@a.test,9,1,2026-03-01T10:00:00Z\n")
        out.write("S-0,time-audit,assessor@a.test,1,2,2026-03-01T10:00:00Z\n")
    import_id = make_import(db, world, path.read_bytes(), str(tmp_path / "spool"))
    summary = _run(app, import_id)
    assert (summary.status, summary.rows_total, summary.error_count) == (ImportStatus.REJECTED, 200_002, 1)
    assert _errors(db, import_id)[0]["row"] == 200_002
    assert _count(db) == 0


@pytest.mark.parametrize("column", ["program_id", "rubric_version_id", "import_id"])
def test_a_rating_must_share_its_imports_program_and_version(app, db, world, tmp_path, column):
    """One composite foreign key (migration 0024) to the import's id, program and rubric version:
    a row naming another program, another version or no import at all is refused by the database."""
    from ..factories_operational import make_stored_import

    import_id = make_stored_import(db, world.program_a, world.rubric_id)
    db.commit()
    row = {
        "program_id": world.program_a, "import_id": import_id, "rubric_version_id": world.rubric_id,
        "criterion_id": db.scalar(text("SELECT min(id) FROM criterion")), "assessor_id": world.ids["assessor"],
    }  # fmt: skip
    insert = text(
        "INSERT INTO operational_rating (program_id, import_id, rubric_version_id, external_submission_id, "
        "criterion_id, assessor_id, level, read_number, scored_at, stored_at) VALUES (:program_id, "
        ":import_id, :rubric_version_id, :sub, :criterion_id, :assessor_id, 1, 1, :at, :at)"
    )
    at = dt.datetime(2026, 3, 1, 9, 0)
    db.execute(insert, {**row, "sub": "S-1", "at": at})  # the import's own program and version: stored
    db.commit()
    wrong = {
        "program_id": world.program_b,
        "rubric_version_id": world.rubric_id + 1000,
        "import_id": import_id + 1,
    }
    with pytest.raises(DBAPIError, match=r"(?i)foreign key"):
        db.execute(insert, {**row, column: wrong[column], "sub": "S-2", "at": at})
        db.flush()
    db.rollback()
    assert _count(db) == 1


def test_a_run_killed_half_way_leaves_no_file_behind_once_done(app, db, world, tmp_path):
    """The checked rows kept for the store pass (next to the upload) of a crashed run and of the
    run that completes it are both removed when the import ends."""
    folder = tmp_path / "imports"
    import_id = make_import(db, world, rows_csv(3), str(folder))

    def crash(processed: int) -> None:
        raise Crash()

    with pytest.raises(Crash):
        _run(app, import_id, chunk_size=7, after_chunk=crash)
    assert len(list(folder.iterdir())) == 2  # the upload and the crashed run's checked rows
    assert _run(app, import_id, chunk_size=7).status == ImportStatus.DONE
    assert list(folder.iterdir()) == []
    assert _count(db) == 30


def test_a_rejected_import_leaves_no_file_behind(app, db, world, tmp_path):
    content = rows_csv(3) + "S-9,time-audit,nobody@a.test,2,1,2026-03-01T10:00:00Z\n"
    import_id = make_import(db, world, content, str(tmp_path / "imports"))
    assert _run(app, import_id, chunk_size=7).status == ImportStatus.REJECTED
    assert list((tmp_path / "imports").iterdir()) == []
    assert _count(db) == 0


def test_submission_ids_are_stored_exactly_as_written(app, db, world, tmp_path):
    """Every printable id round-trips, also those a bulk load could read as an escape or a null
    (a backslash, ``\\N``, a quote, a comma in a quoted cell, non-Latin text)."""
    ids = ["A\\N", "B\\\\t", "C\\", "\\.", 'D"q', "E,f", "Ünïcødé-ид-编号", "F'g;"]
    lines = [HEADER] + [
        f'"{sub.replace(chr(34), chr(34) * 2)}",time-audit,assessor@a.test,2,1,2026-03-01T10:00:00Z\n'
        for sub in ids
    ]
    import_id = make_import(db, world, "".join(lines), str(tmp_path / "imports"))
    assert _run(app, import_id).status == ImportStatus.DONE
    db.rollback()
    stored = db.scalars(select(OperationalRating.external_submission_id)).all()
    assert sorted(stored) == sorted(ids)
    again = make_import(db, world, "".join(lines), str(tmp_path / "imports"))
    assert _run(app, again).rows_already == len(ids)  # the stored ids match the file's exactly


def test_the_check_pass_pauses_the_garbage_collector_and_restores_it(app, db, world, tmp_path, monkeypatch):
    """The collector is off while rows are checked and as it was before once the import ends,
    also when the file is rejected."""
    import gc

    seen: list[bool] = []
    real_compare = operational_import._compare_stored

    def compare(*args: Any) -> int:
        seen.append(gc.isenabled())
        return real_compare(*args)

    monkeypatch.setattr(operational_import, "_compare_stored", compare)
    assert gc.isenabled()
    assert (
        _run(app, make_import(db, world, rows_csv(2), str(tmp_path / "imports"))).status == ImportStatus.DONE
    )
    assert seen == [False] and gc.isenabled()
    bad = rows_csv(1) + "S-9,time-audit,nobody@a.test,2,1,2026-03-01T10:00:00Z\n"
    gc.disable()
    try:
        assert (
            _run(app, make_import(db, world, bad, str(tmp_path / "imports"))).status == ImportStatus.REJECTED
        )
        assert seen == [False, False] and not gc.isenabled()
    finally:
        gc.enable()
