"""``flask import-ratings FILE --program SLUG --rubric-version N``: counts, or the errors and a
non-zero exit with nothing written."""

from __future__ import annotations

from sqlalchemy import func, select

from calibration.models import ImportSource, OperationalImport, OperationalRating

from ..factories_operational import HEADER, rows_csv


def _count(db):  # type: ignore[no-untyped-def]
    db.rollback()
    return db.scalar(select(func.count()).select_from(OperationalRating))


def test_the_command_imports_a_file_and_prints_the_counts(runner, world, db, tmp_path, app):
    path = tmp_path / "live.csv"
    path.write_text(rows_csv(2), encoding="utf-8")
    args = ["import-ratings", str(path), "--program", "alpha", "--rubric-version", str(world.rubric_id)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "20 rows, 20 stored, 0 already stored" in result.output
    assert _count(db) == 20
    assert path.exists()  # the user's file is left alone (the import read its own copy)
    again = runner.invoke(args=["import-ratings", str(path), "--program", "alpha", "--rubric",
                                "analyzing-time", "--rubric-version", "1"])  # fmt: skip
    assert again.exit_code == 0 and "0 stored, 20 already stored" in again.output
    sources = set(db.scalars(select(OperationalImport.source)))
    assert sources == {ImportSource.CLI}


def test_the_command_prints_the_errors_and_writes_nothing(runner, world, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "S-1,time-audit,nobody@a.test,2,1,2026-03-01T10:00:00Z\n", encoding="utf-8")
    result = runner.invoke(
        args=["import-ratings", str(path), "--program", "alpha", "--rubric-version", str(world.rubric_id)]
    )
    assert result.exit_code == 1
    assert "Nothing was imported: 1 errors in 1 rows." in result.output
    assert (
        "row 2, assessor: No member of this program has this email address. (nobody@a.test)" in result.output
    )
    assert _count(db) == 0


def test_another_programs_rubric_version_is_refused(runner, world, db, tmp_path):
    path = tmp_path / "live.csv"
    path.write_text(rows_csv(1), encoding="utf-8")
    result = runner.invoke(
        args=["import-ratings", str(path), "--program", "beta", "--rubric-version", str(world.rubric_id)]
    )
    assert result.exit_code == 1 and "Nothing was imported" in result.output
    assert _count(db) == 0
