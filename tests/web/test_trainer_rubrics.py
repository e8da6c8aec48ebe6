"""The trainer's rubric pages: versions, one version's grid, and uploads checked exactly like the CLI."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.models import AuditEvent, Criterion, LevelDescriptor, RubricVersion
from calibration.rubrics import MAX_FILE_BYTES, RubricFileError, load_rubric_file

from ..conftest import post_form
from ..factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent.parent
RUBRICS = ROOT / "rubrics"


def client_as(app: Any, email: str) -> Any:
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": PASSWORD}).status_code == 302
    return client


def counts(db: Any) -> tuple[int, int, int, int]:
    db.rollback()
    return tuple(  # type: ignore[return-value]
        db.scalar(select(func.count()).select_from(model))
        for model in (RubricVersion, Criterion, LevelDescriptor, AuditEvent)
    )


def upload(client: Any, content: bytes, name: str) -> Any:
    return post_form(client, "/trainer/rubrics/upload", {"file": (io.BytesIO(content), name)})


def test_list_and_view_a_version(app, world, db):
    trainer = client_as(app, world.emails["trainer"])
    page = trainer.get("/trainer/rubrics").get_data(as_text=True)
    assert "Analyzing Time" in page and "analyzing-time" in page
    assert "Implementing Equitable Practices" in page
    rubric = db.get(RubricVersion, world.rubric_id)
    page = trainer.get(f"/trainer/rubrics/{world.rubric_id}").get_data(as_text=True)
    assert rubric.content_hash in page
    for criterion in rubric.criteria:
        assert criterion.title in page
    for level in rubric.levels:
        assert f"{level.value} · {level.label}" in page
    # Every descriptor is in the grid (HTML-escaped the way Jinja escapes it).
    from markupsafe import escape

    for criterion in rubric.criteria:
        for descriptor in criterion.descriptors:
            assert str(escape(descriptor.text)) in page


def test_other_programs_rubric_is_404(app, world, db):
    rubric_b = db.scalar(select(RubricVersion.id).where(RubricVersion.program_id == world.program_b))
    trainer = client_as(app, world.emails["trainer"])
    assert trainer.get(f"/trainer/rubrics/{rubric_b}").status_code == 404
    assert trainer.get("/trainer/rubrics/999999").status_code == 404


def test_upload_new_identical_and_changed(app, world, db):
    trainer = client_as(app, world.emails["trainer"])
    before = counts(db)
    content = (RUBRICS / "applying-improvement-science.yaml").read_bytes()
    resp = upload(trainer, content, "applying-improvement-science.yaml")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = trainer.get(resp.headers["Location"]).get_data(as_text=True)
    assert "applying-improvement-science: version 1 imported." in page
    after = counts(db)
    assert after[0] == before[0] + 1 and after[3] == before[3] + 1
    stored = db.scalar(select(RubricVersion).where(RubricVersion.slug == "applying-improvement-science"))
    assert stored.program_id == world.program_a and stored.source == "applying-improvement-science.yaml"
    assert stored.content_hash == load_rubric_file(RUBRICS / "applying-improvement-science.yaml").content_hash

    # The file the world already imported: recognised, nothing written.
    resp = upload(trainer, (RUBRICS / "analyzing-time.yaml").read_bytes(), "copy.yaml")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/trainer/rubrics/{world.rubric_id}")
    page = trainer.get(resp.headers["Location"]).get_data(as_text=True)
    assert "already stored as version 1" in page
    assert counts(db) == after

    # A changed file becomes version 2 of its slug; version 1 is untouched.
    text = (RUBRICS / "analyzing-time.yaml").read_text()
    changed = text.replace("title: Analyzing Time", "title: Analyzing Time (revised)", 1).encode()
    resp = upload(trainer, changed, "analyzing-time.yaml")
    assert resp.status_code == 302
    page = trainer.get(resp.headers["Location"]).get_data(as_text=True)
    assert "analyzing-time: version 2 imported." in page and "Analyzing Time (revised)" in page
    db.rollback()
    versions = db.scalars(
        select(RubricVersion.version).where(
            RubricVersion.slug == "analyzing-time", RubricVersion.program_id == world.program_a
        )
    ).all()
    assert sorted(versions) == [1, 2]
    assert db.get(RubricVersion, world.rubric_id).title == "Analyzing Time"


def _malformed_cases() -> list[tuple[str, bytes]]:
    good = (RUBRICS / "analyzing-time.yaml").read_bytes()
    return [
        ("syntax", b"slug: broken\ntitle: [unclosed\n"),
        ("schema", b"slug: broken\ntitle: Broken\nlevels: []\n"),
        ("meaning", good.replace(b"earn_cut: 3", b"earn_cut: 7")),
        ("not-utf8", good.replace(b"Analyzing Time", b"Analyzing \xff Time", 1)),
        ("control", good.replace(b"title: Analyzing Time", b"title: Analyzing\x00 Time", 1)),
        ("too-large", good + b"#" * (MAX_FILE_BYTES + 10) + b"\n"),
        ("duplicate-key", good + b"\nslug: again\n"),
    ]


@pytest.mark.parametrize(("case", "content"), _malformed_cases(), ids=[c for c, _ in _malformed_cases()])
def test_malformed_upload_shows_the_loaders_message_and_writes_nothing(
    app, world, db, tmp_path, case, content
):
    """The message is exactly what ``flask import-rubrics`` prints for the same bytes on disk."""
    on_disk = tmp_path / "broken.yaml"
    on_disk.write_bytes(content)
    with pytest.raises(RubricFileError) as cli:
        load_rubric_file(on_disk)
    trainer = client_as(app, world.emails["trainer"])
    before = counts(db)
    resp = upload(trainer, content, "broken.yaml")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    from markupsafe import escape

    assert "Nothing was imported." in page
    assert str(escape(str(cli.value))) in page, str(cli.value)
    assert counts(db) == before


def test_upload_without_a_file(app, world, db):
    trainer = client_as(app, world.emails["trainer"])
    before = counts(db)
    resp = post_form(trainer, "/trainer/rubrics/upload", {})
    assert resp.status_code == 400
    assert "Choose a rubric file to upload." in resp.get_data(as_text=True)
    assert counts(db) == before


@pytest.mark.parametrize("who", ["assessor", "trainer_b"])
def test_upload_is_program_scoped(app, world, db, who):
    """An assessor cannot upload at all; another program's trainer uploads into their own program."""
    client = client_as(app, world.emails[who])
    content = (RUBRICS / "applying-improvement-science.yaml").read_bytes()
    token_page = "/dashboard" if who == "assessor" else "/trainer/rubrics/upload"
    resp = post_form(
        client, "/trainer/rubrics/upload", {"file": (io.BytesIO(content), "a.yaml")}, token_page=token_page
    )
    db.rollback()
    in_a = db.scalar(
        select(func.count()).where(
            RubricVersion.program_id == world.program_a, RubricVersion.slug == "applying-improvement-science"
        )
    )
    assert in_a == 0
    if who == "assessor":
        assert resp.status_code == 404
    else:
        assert resp.status_code == 302
        assert (
            db.scalar(
                select(func.count()).where(
                    RubricVersion.program_id == world.program_b,
                    RubricVersion.slug == "applying-improvement-science",
                )
            )
            == 1
        )
