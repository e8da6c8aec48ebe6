"""Anchor services: key versions, certified assessors' scores across rounds, file checks, rubric uploads."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from calibration.models import (
    Anchor,
    AnchorAttachment,
    AnchorKeyVersion,
    AuditEvent,
    Program,
    RubricVersion,
    User,
)
from calibration.rubrics import MAX_FILE_BYTES, RubricFileError, load_rubric_file
from calibration.services import anchors, rubric_admin
from calibration.services.context import Actor, Member
from calibration.services.errors import InvalidInput, NotFound
from calibration.services.scoring import submit_sheet

from ..factories import make_round, submit

ROOT = Path(__file__).resolve().parent.parent.parent


def trainer(world) -> Actor:  # type: ignore[no-untyped-def]
    return Member(world.ids["trainer"], world.program_a)


def change(db, world, anchor_index=0, *, levels=None, rationale="R", reason="why", base=1):  # type: ignore[no-untyped-def]
    anchor_id = world.anchors[anchor_index]
    levels = levels or world.keys[anchor_id]
    return anchors.change_key(
        db,
        trainer(world),
        program_id=world.program_a,
        anchor_id=anchor_id,
        levels=dict(zip(world.criteria, levels, strict=True)),
        rationales={c: f"{rationale} {i}" for i, c in enumerate(world.criteria)},
        reason=reason,
        base_version=base,
    )


def test_change_key_adds_versions_and_audits(db, world):
    v2 = change(db, world, rationale="New")
    db.commit()
    assert v2.version == 2 and v2.reason == "why" and v2.created_by_id == world.ids["trainer"]
    v3 = change(db, world, levels=[1] * len(world.criteria), rationale="New", reason="again", base=2)
    db.commit()
    assert v3.version == 3
    history = anchors.key_history(db, world.anchors[0])
    assert [h.version.version for h in history] == [3, 2, 1]
    assert history[0].author == "Trainer" and history[0].levels[world.criteria[0]] == 1
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "anchor.key_change")).all()
    assert [json.loads(e.detail_json)["version"] for e in events] == [2, 3]
    assert json.loads(events[0].detail_json)["rationale_changed"]  # rationale text changed, levels did not


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"levels": [9, 2, 4, 1, 3]}, "level_"),
        ({"rationale": "\x00"}, None),  # rationale "\x00 0" has a control character
    ],
)
def test_change_key_refuses_bad_input_and_writes_nothing(db, world, kwargs, field):
    before = db.scalar(select(func.count()).select_from(AnchorKeyVersion))
    with pytest.raises(InvalidInput) as exc:
        change(db, world, **kwargs)
    db.rollback()
    names = list(exc.value.field_errors)
    assert names and (field is None or any(n.startswith(field) for n in names)), names
    assert db.scalar(select(func.count()).select_from(AnchorKeyVersion)) == before


def test_change_key_refuses_unchanged_stale_and_other_program(db, world):
    from calibration.models import Criterion

    keys = [db.get(Criterion, c).key for c in world.criteria]
    with pytest.raises(InvalidInput, match="Nothing changed"):
        anchors.change_key(
            db,
            trainer(world),
            program_id=world.program_a,
            anchor_id=world.anchors[0],
            levels=dict(zip(world.criteria, world.keys[world.anchors[0]], strict=True)),
            rationales={
                c: f"Rationale for Anchor 1 / {k}" for c, k in zip(world.criteria, keys, strict=True)
            },
            reason="same",
            base_version=1,
        )
    db.rollback()
    with pytest.raises(InvalidInput, match="Someone else"):
        change(db, world, base=None)
    db.rollback()
    with pytest.raises(NotFound):
        anchors.change_key(
            db,
            Member(world.ids["trainer_b"], world.program_b),
            program_id=world.program_b,
            anchor_id=world.anchors[0],
            levels={},
            rationales={},
            reason="x",
            base_version=1,
        )


def test_certified_scores_count_each_assessor_once_with_their_latest_sheet(db, world):
    """An anchor scored in two rounds: the summary uses each assessor's latest sheet."""
    submit(db, world, "assessor", 0, [1] * len(world.criteria))
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, world.rubric_id)
    later = make_round(
        db,
        program,
        rubric,
        [db.get(Anchor, world.anchors[0])],
        [db.get(User, world.ids["assessor"])],
        name="Later round",
    )
    db.commit()
    submit_sheet(
        db,
        Member(world.ids["assessor"], world.program_a),
        round_id=later.id,
        anchor_id=world.anchors[0],
        levels=dict.fromkeys(world.criteria, 4),
        notes="",
    )
    db.commit()
    assessors, criteria, values = anchors.certified_scores(db, db.get(Anchor, world.anchors[0]))
    assert sorted(criteria.tolist()) == sorted(world.criteria)
    assert set(assessors.tolist()) == {world.ids["assessor"]}
    assert set(values.tolist()) == {4}
    overview = anchors.anchor_overview(db, program_id=world.program_a, anchor_id=world.anchors[0])
    assert overview.n_assessors == 1
    assert all(a.row is not None and a.row.n == 1 for a in overview.agreement)


def test_overview_of_an_anchor_without_key_or_scores(db, world):
    overview = anchors.anchor_overview(db, program_id=world.program_a, anchor_id=world.anchors[2])
    assert overview.key is not None and overview.n_assessors == 0
    assert all(a.row is None for a in overview.agreement) and overview.contentious == []
    with pytest.raises(NotFound):
        anchors.anchor_overview(db, program_id=world.program_b, anchor_id=world.anchors[2])


def test_create_and_update_anchor(db, world):
    anchor = anchors.create_anchor(
        db,
        trainer(world),
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        title="  Spaced title  ",
        purpose="practice",
        evidence_md="Body",
    )
    db.commit()
    assert anchor.title == "Spaced title" and anchor.status.value == "draft"
    with pytest.raises(InvalidInput) as exc:
        anchors.update_anchor(
            db,
            trainer(world),
            program_id=world.program_a,
            anchor_id=anchor.id,
            title="Spaced title",
            purpose="practice",
            status="active",
            evidence_md="Body",
        )
    assert "status" in exc.value.field_errors
    db.rollback()
    changed = anchors.update_anchor(
        db,
        trainer(world),
        program_id=world.program_a,
        anchor_id=anchor.id,
        title="Spaced title",
        purpose="calibration",
        status="retired",
        evidence_md="Body",
    )
    assert changed == ["purpose", "status"]
    with pytest.raises(InvalidInput) as exc:
        anchors.create_anchor(
            db,
            trainer(world),
            program_id=world.program_b,
            rubric_version_id=world.rubric_id,
            title="x",
            purpose="practice",
            evidence_md="y",
        )
    assert "rubric_version_id" in exc.value.field_errors


# ------------------------------------------------------------------------------------- file checks
@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"GIF89a", None),
        (b"%PD", None),
        (b"", None),
    ],
)
def test_sniff(head, kind):
    found = anchors.sniff(head)
    assert (found.content_type if found else None) == kind


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ("tab\tand\x00nul.pdf", "tabandnul.pdf"),
        ("", ""),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_clean_filename(raw, clean):
    assert anchors.clean_filename(raw) == clean


def test_read_upload_reads_at_most_the_limit_and_reports_the_size():
    stream = io.BytesIO(b"x" * 10_000)
    data, size = anchors.read_upload(stream, 100)
    assert len(data) == 101 and size == 10_000


def test_add_attachment_writes_only_valid_files(db, world, tmp_path):
    tmp_path = tmp_path / "files"  # the SQLite database lives in tmp_path itself
    args = {
        "program_id": world.program_a,
        "anchor_id": world.anchors[0],
        "directory": str(tmp_path),
        "max_bytes": 64,
    }
    with pytest.raises(InvalidInput, match="content is a PNG image"):
        anchors.add_attachment(
            db, trainer(world), filename="x.pdf", stream=io.BytesIO(b"\x89PNG\r\n\x1a\n"), **args
        )
    assert not tmp_path.exists()  # nothing written, not even the folder
    row = anchors.add_attachment(
        db, trainer(world), filename="x.pdf", stream=io.BytesIO(b"%PDF-1.4 ok"), **args
    )
    db.commit()
    assert [p.name for p in tmp_path.iterdir()] == [row.stored_name]
    assert row.size_bytes == 11 and row.kind_label == "PDF" and row.size_label == "11 bytes"
    f = anchors.attachment_file(row, str(tmp_path))
    assert f.as_attachment and f.download_name == "x.pdf" and f.content_type == "application/pdf"
    with pytest.raises(NotFound):
        anchors.add_attachment(
            db,
            trainer(world),
            filename="x.pdf",
            stream=io.BytesIO(b"%PDF-"),
            **{**args, "program_id": world.program_b},
        )
    db.rollback()
    name = anchors.remove_attachment(
        db, trainer(world), program_id=world.program_a, anchor_id=world.anchors[0], attachment_id=row.id
    )
    db.commit()
    anchors.discard_file(str(tmp_path), name)
    assert (
        list(tmp_path.iterdir()) == [] and db.scalar(select(func.count()).select_from(AnchorAttachment)) == 0
    )
    anchors.discard_file(str(tmp_path), "../escape")  # not a generated name: ignored


# ------------------------------------------------------------------------------------ rubric upload
@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfslug: x\n\xff\n",
        b"slug: [\n",
        b"a" * (MAX_FILE_BYTES + 1),
        b"ok: 1\n" * 10 + b"\x80",
    ],
)
def test_parse_upload_says_what_the_cli_says(tmp_path, content):
    path = tmp_path / "file.yaml"
    path.write_bytes(content)
    with pytest.raises(RubricFileError) as cli:
        load_rubric_file(path)
    with pytest.raises(RubricFileError) as web:
        rubric_admin.parse_upload(content[: MAX_FILE_BYTES + 1], len(content), filename="file.yaml")
    assert str(web.value) == str(cli.value)


def test_upload_rubric_is_idempotent(db, world):
    content = (ROOT / "rubrics" / "analyzing-time.yaml").read_bytes()
    outcome = rubric_admin.upload_rubric(
        db, trainer(world), program_id=world.program_a, filename="a.yaml", stream=io.BytesIO(content)
    )
    assert (outcome.created, outcome.version, outcome.rubric_version_id) == (False, 1, world.rubric_id)
    lines = rubric_admin.program_rubrics(db, world.program_a)
    assert {(line.version.slug, line.version.version, line.latest) for line in lines} == {
        ("analyzing-time", 1, True),
        ("implementing-equitable-practices", 1, True),
    }
    assert next(line for line in lines if line.version.id == world.rubric_id).n_anchors == 5
