"""The trainer's "Live scoring imports" page: upload, progress and outcome, the error report, bad
files (wrong columns, not UTF-8, formula cells, too large) writing nothing, and who may see what."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration import create_app
from calibration.db import get_db
from calibration.models import ImportStatus, OperationalImport, OperationalRating

from ..conftest import csrf_token, post_form
from ..factories_operational import HEADER, make_import, rows_csv


def _upload(client: Any, world: Any, content: bytes, *, filename: str = "live.csv", **kw: Any) -> Any:
    return post_form(
        client,
        "/trainer/imports/new",
        {"rubric_version_id": str(world.rubric_id), "file": (io.BytesIO(content), filename)},
        token_page="/trainer/imports",
        content_type="multipart/form-data",
        **kw,
    )


def _counts(db: Any) -> tuple[int, int]:
    db.rollback()
    return (
        int(db.scalar(select(func.count()).select_from(OperationalImport))),
        int(db.scalar(select(func.count()).select_from(OperationalRating))),
    )


def test_a_trainer_uploads_a_file_and_sees_it_stored(client, login, world, db, app):
    login(world.emails["trainer"])
    page = client.get("/trainer/imports").get_data(as_text=True)
    assert "Live scoring imports" in page and 'type="file"' in page
    r = _upload(client, world, rows_csv(2).encode())
    assert r.status_code == 302
    detail = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "The file was imported." in detail
    assert "Done: 20 rows stored, 0 already stored (of 20)." in detail
    assert _counts(db) == (1, 20)
    assert not list((__import__("pathlib").Path(app.config["IMPORT_DIR"])).iterdir())
    listing = client.get("/trainer/imports").get_data(as_text=True)
    assert "live.csv" in listing
    again = client.get(_upload(client, world, rows_csv(2).encode()).headers["Location"])
    assert "0 rows stored, 20 already stored" in again.get_data(as_text=True)
    assert _counts(db) == (2, 20)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"id,criterion,assessor,level,read,scored_at\nS-1,a,b,1,1,x\n", "must name exactly these columns"),
        (
            HEADER.encode()
            + "S-1,time-audit,m\u00fcller@a.test,2,1,2026-03-01T10:00:00Z\n".encode("latin-1"),
            "not UTF-8",
        ),
        ((HEADER + "@SUM(1+1),time-audit,assessor@a.test,2,1,2026-03-01T10:00:00Z\n").encode(), "formula"),
    ],
    ids=["wrong-columns", "not-utf8", "formula-cell"],
)
def test_a_bad_file_writes_nothing_and_its_report_can_be_downloaded(client, login, world, db, content, words):
    login(world.emails["trainer"])
    r = _upload(client, world, content)
    assert r.status_code == 302
    detail = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported" in detail and words in detail
    assert _counts(db) == (1, 0)
    (imp,) = db.scalars(select(OperationalImport))
    assert imp.status == ImportStatus.REJECTED
    report = client.get(f"/trainer/imports/{imp.id}/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    assert rows[0] == ["row", "column", "value", "problem"] and len(rows) == 2
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in rows[1])


def test_no_file_is_a_form_error_that_keeps_the_choice(client, login, world, db):
    login(world.emails["trainer"])
    r = post_form(
        client,
        "/trainer/imports/new",
        {"rubric_version_id": str(world.rubric_id)},
        token_page="/trainer/imports",
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Choose a CSV file to import." in page
    assert f'<option selected value="{world.rubric_id}">' in page
    assert _counts(db) == (0, 0)


def test_another_programs_rubric_version_is_refused(client, login, world, db):
    login(world.emails["trainer_b"])
    r = _upload(client, world, rows_csv(1).encode())
    assert r.status_code == 400 and "Not a valid choice" in r.get_data(as_text=True)
    assert _counts(db) == (0, 0)


@pytest.fixture
def small_limit_app(app_config: dict[str, Any]) -> Any:
    application = create_app({**app_config, "IMPORT_MAX_BYTES": 2000})
    yield application
    get_db(application).dispose()


def test_an_oversized_upload_is_refused_and_nothing_is_kept(small_limit_app, world_in_small):
    client, world, db = world_in_small
    # Just over the file limit: read to the limit, then a form error beside the field.
    r = _upload(client, world, rows_csv(5).encode())
    assert r.status_code == 400
    assert "The file is larger than 1 KB" in r.get_data(as_text=True)
    # Far over (the body is over the request's limit): 413, refused before it is read.
    big = _upload(client, world, b"x" * 200_000)
    assert big.status_code == 413
    assert "larger than this service accepts" in big.get_data(as_text=True)
    # A body announced as 2 GB is refused on its Content-Length, unread.
    token = csrf_token(client, "/trainer/imports")
    huge = client.post(
        "/trainer/imports/new",
        data=b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        headers={"X-CSRFToken": token},
        environ_overrides={"CONTENT_LENGTH": str(2 * 1024**3)},
    )
    assert huge.status_code == 413
    assert _counts(db) == (0, 0)
    assert not list(__import__("pathlib").Path(small_limit_app.config["IMPORT_DIR"]).glob("*"))


@pytest.fixture
def world_in_small(small_limit_app: Any) -> Any:
    from ..factories import build_world

    client = small_limit_app.test_client()
    with get_db(small_limit_app).sessionmaker() as session:
        world = build_world(session)
        session.rollback()
        post_form(client, "/login", {"email": world.emails["trainer"], "password": "pw-for-tests"})
        yield client, world, session


@pytest.mark.parametrize("role", ["anonymous", "assessor", "trainer", "admin", "trainer_b"])
def test_an_import_is_seen_only_by_its_programs_trainers(client, login, world, db, tmp_path, role):
    import_id = make_import(db, world, rows_csv(1), str(tmp_path / "imports"))
    if role != "anonymous":
        login(world.emails[role])
    expected = {"anonymous": 302, "trainer": 200, "admin": 200}.get(role, 404)
    for url in (
        f"/trainer/imports/{import_id}",
        f"/trainer/imports/{import_id}/status",
        f"/trainer/imports/{import_id}/errors.csv",
    ):
        assert client.get(url).status_code == expected, url


def test_a_running_import_shows_progress_and_refreshes(client, login, world, db, tmp_path):
    import_id = make_import(db, world, rows_csv(1), str(tmp_path / "imports"))
    login(world.emails["trainer"])
    page = client.get(f"/trainer/imports/{import_id}").get_data(as_text=True)
    assert "<progress" in page and 'http-equiv="refresh"' in page and "imports.js" in page
    assert "Waiting to start." in page
    status = client.get(f"/trainer/imports/{import_id}/status").get_json()
    assert status["status"] == "queued" and status["running"] is True


def test_import_times_are_in_the_programs_zone_named(client, login, world, db, tmp_path):
    """A New York program reads when its import was received in New York time, named, on the list and
    on the import's page (stored in UTC)."""
    import datetime as dt

    from calibration.models import Program

    import_id = make_import(db, world, rows_csv(1), str(tmp_path / "imports"))
    db.get(Program, world.program_a).timezone = "America/New_York"
    db.get(OperationalImport, import_id).created_at = dt.datetime(2026, 12, 8, 3, 30, tzinfo=dt.UTC)
    db.commit()
    login(world.emails["trainer"])
    listing = client.get("/trainer/imports").get_data(as_text=True)
    page = client.get(f"/trainer/imports/{import_id}").get_data(as_text=True)
    assert "7 Dec 2026 22:30 EST" in listing
    assert "7 December 2026, 22:30 EST" in page
    for html in (listing, page):
        assert "03:30" not in html and "30 UTC" not in html
