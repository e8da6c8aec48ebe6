"""The import-rubrics command: valid, idempotent, new version, malformed files refused with nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select

from calibration.models import AuditEvent, Criterion, RubricVersion

ROOT = Path(__file__).resolve().parent.parent.parent


def _count(db, model):  # type: ignore[no-untyped-def]
    db.rollback()  # a fresh snapshot: see what the command committed
    return db.scalar(select(func.count()).select_from(model))


def test_import_is_idempotent_and_a_changed_file_is_a_new_version(runner, world, db, tmp_path):
    before = _count(db, RubricVersion)
    result = runner.invoke(args=["import-rubrics", "--program", "alpha"])
    assert result.exit_code == 0, result.output
    # analyzing-time and implementing-equitable-practices were already stored by the factory
    assert "analyzing-time: version 1 already stored" in result.output
    assert "applying-improvement-science: version 1 imported" in result.output
    assert _count(db, RubricVersion) == before + 1
    again = runner.invoke(args=["import-rubrics", "--program", "alpha"])
    assert again.exit_code == 0
    assert "imported" not in again.output
    assert _count(db, RubricVersion) == before + 1

    changed = tmp_path / "analyzing-time.yaml"
    text = (ROOT / "rubrics" / "analyzing-time.yaml").read_text()
    changed.write_text(text.replace("title: Analyzing Time", "title: Analyzing Time (revised)", 1))
    result = runner.invoke(args=["import-rubrics", "--program", "alpha", str(changed)])
    assert result.exit_code == 0, result.output
    assert "analyzing-time: version 2 imported" in result.output
    db.rollback()
    versions = db.scalars(
        select(RubricVersion.version).where(
            RubricVersion.slug == "analyzing-time", RubricVersion.program_id == world.program_a
        )
    ).all()
    assert sorted(versions) == [1, 2]
    assert _count(db, AuditEvent) > 0


def test_malformed_file_in_a_folder_writes_nothing(runner, world, db, tmp_path):
    folder = tmp_path / "rubrics"
    shutil.copytree(ROOT / "rubrics", folder)
    (folder / "zz-broken.yaml").write_text("slug: broken\ntitle: Broken\nlevels: []\n")
    before = (_count(db, RubricVersion), _count(db, Criterion))
    result = runner.invoke(args=["import-rubrics", "--program", "alpha", str(folder)])
    assert result.exit_code != 0
    assert "Nothing was imported" in result.output
    assert "zz-broken.yaml" in result.output
    assert (_count(db, RubricVersion), _count(db, Criterion)) == before


def test_unknown_program_is_refused(runner, world):
    result = runner.invoke(args=["import-rubrics", "--program", "nope"])
    assert result.exit_code != 0
    assert "No program" in result.output


def test_seed_demo_twice_creates_once(runner, db):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data created." in first.output
    assert "maya@demo.test" in first.output
    n = _count(db, RubricVersion)
    second = runner.invoke(args=["seed-demo"])
    assert "already present" in second.output
    assert _count(db, RubricVersion) == n


def test_demo_has_drift_to_review_and_a_session(runner, db):
    """The demo's drifting assessor has a drift flag (a round clearly below the pass rule), and its
    consistently severe one a lean (issue 15: feedback, not a drift flag)."""
    from sqlalchemy import select

    from calibration.models import DriftFlag, FlagRule, RecalibrationSession, User

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    found = {
        (email, rule): direction
        for email, rule, direction in db.execute(
            select(User.email, DriftFlag.rule, DriftFlag.direction)
            .join(User, User.id == DriftFlag.user_id)
            .where(DriftFlag.criterion_id.is_(None))
        ).all()
    }
    assert ("samuel@demo.test", FlagRule.PASS_RULE) in found
    assert found.get(("helen@demo.test", FlagRule.LEAN)) == "severe"
    assert not {rule for email, rule in found if email == "helen@demo.test"} - {FlagRule.LEAN}
    assert not [key for key in found if key[0] == "maya@demo.test"]
    assert _count(db, RecalibrationSession) == 1


def test_verify_audit_detects_tampering(runner, world, db, app, owner_database_url):
    ok = runner.invoke(args=["verify-audit"])
    assert ok.exit_code == 0 and "intact" in ok.output
    from sqlalchemy import create_engine

    from calibration.db import get_db

    # A tamperer with enough privileges to get past the triggers (on PostgreSQL the owner role; the
    # app's own role cannot, tests/migrations/test_app_role.py): the chain still tells.
    tamperer = get_db(app).engine if get_db(app).is_sqlite else create_engine(owner_database_url)
    with tamperer.begin() as conn:
        if get_db(app).is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        conn.exec_driver_sql("UPDATE audit_event SET outcome = 'forged' WHERE id = 1")
    if not get_db(app).is_sqlite:
        tamperer.dispose()
    bad = runner.invoke(args=["verify-audit"])
    assert bad.exit_code != 0
    assert "broken at event 1" in bad.output
