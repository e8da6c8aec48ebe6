"""The trainer's anchor pages: create and edit with a Markdown preview, the versioned key, attachments
(type, size and access checks) and the per-anchor agreement with the current key."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from calibration.models import (
    Anchor,
    AnchorAttachment,
    AnchorKeyVersion,
    AnchorStatus,
    AuditEvent,
    CertificationStatus,
    Membership,
    Program,
    Role,
    RubricVersion,
    ScoreSheet,
)
from calibration.stats.anchors import anchor_summary

from ..conftest import post_form
from ..factories import PASSWORD, make_user, submit

MAX_BYTES = 4096
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Attachments go to the test's own folder, with a small limit so "oversize" stays cheap."""
    return {**app_config, "ATTACHMENT_DIR": str(tmp_path / "attachments"), "ATTACHMENT_MAX_BYTES": MAX_BYTES}


@pytest.fixture
def files(app: Any) -> Path:
    return Path(app.config["ATTACHMENT_DIR"])


def client_as(app: Any, email: str) -> Any:
    client = app.test_client()
    resp = post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def count(db: Any, model: Any, *where: Any) -> int:
    db.rollback()  # a fresh snapshot: see what the requests committed
    return db.scalar(select(func.count()).select_from(model).where(*where))


def stored_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*")) if directory.exists() else []


def key_data(world: Any, levels: list[int], rationale: str = "Because", reason: str = "", base: str = "1"):  # type: ignore[no-untyped-def]
    data = {"reason": reason, "base_version": base}
    for i, (criterion, level) in enumerate(zip(world.criteria, levels, strict=True)):
        data[f"level_{criterion}"] = str(level)
        data[f"rationale_{criterion}"] = f"{rationale} {i}"
    return data


def fetch(client: Any, url: str) -> tuple[int, bytes, Any]:
    """GET and close the response (a sent file stays open until then)."""
    with client.get(url) as resp:
        return resp.status_code, resp.get_data(), resp.headers


def upload(client: Any, anchor_id: int, content: bytes, name: str) -> Any:
    url = f"/trainer/anchors/{anchor_id}/attachments"
    return post_form(client, url, {"file": (io.BytesIO(content), name)})


# ------------------------------------------------------------------------------ create and edit
def test_create_set_key_then_activate(app, world, db):
    trainer = client_as(app, world.emails["trainer"])
    resp = post_form(
        trainer,
        "/trainer/anchors/new",
        {
            "rubric_version_id": str(world.rubric_id),
            "title": "Principal's time log",
            "purpose": "qualification",
            "evidence_md": "## Time log\n\n| Day | Hours |\n|---|---|\n| Mon | 9 |",
            "save": "Save",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    anchor = db.scalar(select(Anchor).where(Anchor.title == "Principal's time log"))
    assert anchor.status == AnchorStatus.DRAFT and anchor.program_id == world.program_a
    assert resp.headers["Location"].endswith(f"/trainer/anchors/{anchor.id}/key")

    resp = post_form(trainer, f"/trainer/anchors/{anchor.id}/key", key_data(world, [3, 2, 4, 1, 3], base=""))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = trainer.get(f"/trainer/anchors/{anchor.id}").get_data(as_text=True)
    assert "Key version 1 saved." in page
    assert "Because 4" in page and "Initial key" in page

    edit = f"/trainer/anchors/{anchor.id}/edit"
    resp = post_form(
        trainer,
        edit,
        {
            "title": "Principal's time log",
            "purpose": "qualification",
            "status": "active",
            "evidence_md": anchor.evidence_md,
            "save": "Save",
        },
    )
    assert resp.status_code == 302
    db.rollback()
    assert db.get(Anchor, anchor.id).status == AnchorStatus.ACTIVE
    actions = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "anchor", AuditEvent.object_id == str(anchor.id)
        )
    ).all()
    assert actions == ["anchor.create", "anchor.key_change", "anchor.update"]


def test_activating_without_a_key_is_refused_and_typed_values_are_kept(app, world, db):
    new = Anchor(
        program_id=world.program_a,
        rubric_version_id=world.rubric_id,
        title="Keyless",
        evidence_md="Old evidence",
        purpose="practice",
        status=AnchorStatus.DRAFT,
    )
    db.add(new)
    db.commit()
    trainer = client_as(app, world.emails["trainer"])
    before = count(db, AuditEvent)
    resp = post_form(
        trainer,
        f"/trainer/anchors/{new.id}/edit",
        {
            "title": "Keyless, renamed",
            "purpose": "practice",
            "status": "active",
            "evidence_md": "Typed evidence",
        },
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Set the master key before making this anchor active." in page
    assert 'value="Keyless, renamed"' in page and "Typed evidence" in page
    assert count(db, AuditEvent) == before
    db.rollback()
    assert (db.get(Anchor, new.id).title, db.get(Anchor, new.id).evidence_md) == ("Keyless", "Old evidence")


def test_new_anchor_with_bad_input_keeps_what_was_typed(app, world, db):
    trainer = client_as(app, world.emails["trainer"])
    before = count(db, Anchor), count(db, AuditEvent)
    for data, message in (
        ({"title": "", "evidence_md": "My typed evidence"}, "Give the anchor a title."),
        ({"title": "T\x00", "evidence_md": "My typed evidence"}, "control character"),
        ({"title": "Fine", "evidence_md": "My typed evidence", "purpose": "validity"}, "Not a valid choice"),
        (
            {"title": "Fine", "evidence_md": "My typed evidence", "rubric_version_id": "999999"},
            "Not a valid choice",
        ),
        ({"title": "Fine", "evidence_md": "My typed evidence", "rubric_version_id": "x"}, "Invalid Choice"),
    ):
        payload = {"rubric_version_id": str(world.rubric_id), "purpose": "practice", "save": "Save", **data}
        resp = post_form(trainer, "/trainer/anchors/new", payload)
        assert resp.status_code == 400, data
        page = resp.get_data(as_text=True)
        assert message in page, (message, data)
        assert "My typed evidence" in page
    # Another program's rubric is not a choice either.
    rubric_b = db.scalar(select(RubricVersion.id).where(RubricVersion.program_id == world.program_b))
    payload = {"rubric_version_id": str(rubric_b), "title": "T", "purpose": "practice", "evidence_md": "E"}
    resp = post_form(trainer, "/trainer/anchors/new", {**payload, "save": "Save"})
    assert resp.status_code == 400 and "Not a valid choice" in resp.get_data(as_text=True)
    assert (count(db, Anchor), count(db, AuditEvent)) == before


def test_preview_renders_sanitised_markdown_and_writes_nothing(app, world, db):
    trainer = client_as(app, world.emails["trainer"])
    evidence = "# Log\n\n**bold** <script>alert('x')</script>\n\n[link](javascript:alert(1))"
    before = count(db, Anchor), count(db, AuditEvent)
    resp = post_form(
        trainer,
        "/trainer/anchors/new",
        {
            "rubric_version_id": str(world.rubric_id),
            "title": "",
            "purpose": "practice",
            "evidence_md": evidence,
            "preview": "Preview",
        },
    )
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "nothing has been saved" in page
    assert "<h3>Log</h3>" in page and "<strong>bold</strong>" in page
    assert page.count("<h1") == 1  # evidence headings sit below the page's own
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    assert (count(db, Anchor), count(db, AuditEvent)) == before

    # The edit form's preview changes nothing either.
    anchor_id = world.anchors[0]
    resp = post_form(
        trainer,
        f"/trainer/anchors/{anchor_id}/edit",
        {
            "title": "Anchor 1",
            "purpose": "calibration",
            "status": "active",
            "evidence_md": evidence,
            "preview": "Preview",
        },
    )
    assert resp.status_code == 200
    assert "&lt;script&gt;" in resp.get_data(as_text=True)
    db.rollback()
    assert db.get(Anchor, anchor_id).evidence_md == "Evidence text."
    assert count(db, AuditEvent) == before[1]


def test_evidence_is_escaped_for_assessors_too(app, world, db):
    anchor = db.get(Anchor, world.anchors[0])
    anchor.evidence_md = "<script>alert(1)</script> *ok*"
    db.commit()
    assessor = client_as(app, world.emails["assessor"])
    page = assessor.get(f"/rounds/{world.round_id}/anchors/{world.anchors[0]}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "<em>ok</em>" in page


# ------------------------------------------------------------------------------------------ key
def test_changing_the_key_adds_a_version_and_old_sheets_keep_theirs(app, world, db):
    anchor_id = world.anchors[0]
    sheet = submit(db, world, "assessor", 0)
    old_key_id = sheet.key_version_id
    trainer = client_as(app, world.emails["trainer"])
    new_levels = list(world.keys[anchor_id])
    new_levels[0] = 1 if new_levels[0] != 1 else 2
    resp = post_form(
        trainer,
        f"/trainer/anchors/{anchor_id}/key",
        key_data(world, new_levels, rationale="Revised rationale", reason="Panel review of 2026"),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.rollback()
    versions = db.scalars(
        select(AnchorKeyVersion.version)
        .where(AnchorKeyVersion.anchor_id == anchor_id)
        .order_by(AnchorKeyVersion.version)
    ).all()
    assert versions == [1, 2]
    assert db.get(ScoreSheet, sheet.id).key_version_id == old_key_id
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "anchor.key_change"))
    assert "Panel review of 2026" in event.detail_json and event.actor_id == world.ids["trainer"]

    # The assessor's feedback still compares with version 1 and its rationale.
    assessor = client_as(app, world.emails["assessor"])
    feedback = assessor.get(f"/rounds/{world.round_id}/anchors/{anchor_id}/feedback").get_data(as_text=True)
    assert "key version 1" in feedback
    assert "Rationale for Anchor 1" in feedback and "Revised rationale" not in feedback

    # The trainer's page shows the current key (version 2) and the history with reasons.
    page = trainer.get(f"/trainer/anchors/{anchor_id}").get_data(as_text=True)
    key_section = page.split('id="key"', 1)[1].split('id="history"', 1)[0]
    assert "version 2" in key_section and "Revised rationale 0" in key_section
    assert "Rationale for Anchor 1" not in key_section
    history = page.split('id="history"', 1)[1].split('id="evidence"', 1)[0]
    assert "Panel review of 2026" in history and "initial" in history
    assert "Trainer" in history
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(\d)", history)
    assert rows == ["2", "1"]


def test_key_change_needs_a_reason_and_keeps_typed_values(app, world, db):
    anchor_id = world.anchors[0]
    trainer = client_as(app, world.emails["trainer"])
    levels = list(world.keys[anchor_id])
    levels[1] = 4 if levels[1] != 4 else 3
    data = key_data(world, levels, rationale="Typed rationale")
    data[f"rationale_{world.criteria[2]}"] = ""
    # Opening the key form (for its CSRF token) is a key view and is audited; the refused
    # changes themselves write nothing.
    changes = AuditEvent.action != "anchor.key_view"
    before = count(db, AnchorKeyVersion), count(db, AuditEvent, changes)
    resp = post_form(trainer, f"/trainer/anchors/{anchor_id}/key", data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Write the rationale for" in page
    assert "Typed rationale 0" in page and "Typed rationale 4" in page
    assert re.search(
        rf'name="level_{world.criteria[1]}" value="{levels[1]}"\s+aria-labelledby="[^"]+"\s+aria-describedby="[^"]+"\s+checked',
        page,
    )

    data = key_data(world, levels, rationale="Typed rationale")
    resp = post_form(trainer, f"/trainer/anchors/{anchor_id}/key", data)
    assert resp.status_code == 400
    assert "Say why the key is changing" in resp.get_data(as_text=True)
    assert (count(db, AnchorKeyVersion), count(db, AuditEvent, changes)) == before


def test_unchanged_key_and_stale_version_are_refused(app, world, db):
    anchor_id = world.anchors[0]
    trainer = client_as(app, world.emails["trainer"])
    page = trainer.get(f"/trainer/anchors/{anchor_id}/key").get_data(as_text=True)
    unchanged = {
        "base_version": "1",
        "reason": "no real change",
        **{f"level_{c}": str(v) for c, v in zip(world.criteria, world.keys[anchor_id], strict=True)},
        **{
            f"rationale_{c}": f"Rationale for Anchor 1 / {key}"
            for c, key in zip(world.criteria, _criterion_keys(db, world), strict=True)
        },
    }
    assert 'value="1"' in page
    resp = post_form(trainer, f"/trainer/anchors/{anchor_id}/key", unchanged)
    assert resp.status_code == 400
    assert "Nothing changed" in resp.get_data(as_text=True)

    levels = [1] * len(world.criteria)
    resp = post_form(
        trainer, f"/trainer/anchors/{anchor_id}/key", key_data(world, levels, reason="r", base="0")
    )
    assert resp.status_code == 400
    assert "Someone else saved a new key version" in resp.get_data(as_text=True)
    assert count(db, AnchorKeyVersion, AnchorKeyVersion.anchor_id == anchor_id) == 1


def _criterion_keys(db: Any, world: Any) -> list[str]:
    from calibration.models import Criterion

    return [db.get(Criterion, c).key for c in world.criteria]


# ------------------------------------------------------------------------ agreement with the key
def test_anchor_page_with_two_assessors_is_too_few_to_judge(app, world, db):
    # Issue 12: a "contentious" marker from two or three ratings is below the minimum evidence (5).
    anchor_id = world.anchors[1]  # key [1, 2, 3, 4, 2]
    for who, levels in {"assessor": [2, 2, 3, 4, 1], "assessor2": [3, 2, 2, 4, 2]}.items():
        submit(db, world, who, 1, levels)
    page = client_as(app, world.emails["trainer"]).get(f"/trainer/anchors/{anchor_id}").get_data(as_text=True)
    table = page.split('class="data anchor-agreement"', 1)[1].split("</table>", 1)[0]
    assert "Contentious anchor." not in page and "badge-contentious" not in table
    assert table.count("too few to judge") == len(world.criteria)
    # Criterion 1: deviations +1 and +2 from the key: mean +1.50, t interval over two ratings.
    row_html = table.split("</tr>")[1]
    assert "+1.50" in row_html and "[-4.85, +7.85]" in row_html


def test_anchor_page_shows_distribution_and_contentious_marker(app, world, db):
    # The program's own minimum evidence (here 2 ratings) decides when the marker may show.
    program = db.get(Program, world.program_a)
    program.settings_json = json.dumps({"pass_rule": {"min_anchors": 2}})
    db.commit()
    anchor_id = world.anchors[1]  # key [1, 2, 3, 4, 2]
    key = world.keys[anchor_id]
    mine = {"assessor": [2, 2, 3, 4, 1], "assessor2": [3, 2, 2, 4, 2]}
    for who, levels in mine.items():
        submit(db, world, who, 1, levels)
    raters = np.repeat([world.ids["assessor"], world.ids["assessor2"]], len(key))
    values = np.concatenate([mine["assessor"], mine["assessor2"]])
    expected = anchor_summary(
        np.full(values.size, anchor_id),
        raters,
        values,
        np.tile(key, 2),
        levels=world.levels,
        criteria=np.tile(world.criteria, 2),
        min_ratings=2,
    )
    trainer = client_as(app, world.emails["trainer"])
    page = trainer.get(f"/trainer/anchors/{anchor_id}").get_data(as_text=True)
    table = page.split('class="data anchor-agreement"', 1)[1].split("</table>", 1)[0]
    assert "2 certified assessors" in page
    assert "Contentious anchor." in page
    for criterion, row in zip(
        world.criteria, (expected.get(anchor_id, c) for c in world.criteria), strict=True
    ):
        assert row.criterion == criterion
    first = expected.get(anchor_id, world.criteria[0])
    assert first.contentious and first.direction == "above"
    # Criterion 1: both assessors above the key (1): counts 0, 1, 1, 0 and 0% exact.
    row_html = table.split("</tr>")[1]
    assert "contentious" in row_html
    cells = re.findall(r'<td class="num[^"]*">(\d+)', row_html)
    assert [int(x) for x in cells] == list(first.counts)
    assert f"{first.exact.p * 100:.0f}% " in row_html and "2 above, 0 below" in row_html
    assert f"{first.mean_signed_deviation:+.2f}" in row_html
    assert f"[{first.deviation_ci_low:+.2f}, {first.deviation_ci_high:+.2f}]" in row_html
    # Only one criterion is contentious.
    assert table.count("badge-contentious") == sum(r.contentious for r in expected.rows) == 1


def test_only_certified_assessors_count(app, world, db):
    anchor_id = world.anchors[1]
    submit(db, world, "assessor", 1, [2, 2, 3, 4, 2])
    submit(db, world, "assessor2", 1, [2, 2, 3, 4, 2])
    membership = db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor2"]))
    membership.certification_status = CertificationStatus.IN_TRAINING
    db.commit()
    trainer = client_as(app, world.emails["trainer"])
    page = trainer.get(f"/trainer/anchors/{anchor_id}").get_data(as_text=True)
    assert "1 certified assessor " in page
    assert "Contentious anchor." not in page  # one rating is not a majority of assessors


# ---------------------------------------------------------------------------------- attachments
@pytest.mark.parametrize(
    ("content", "name", "content_type", "disposition"),
    [
        (PDF, "Time log (week 1).pdf", "application/pdf", "attachment"),
        (PNG, "calendar.PNG", "image/png", "inline"),
        (JPEG, "photo.jpeg", "image/jpeg", "inline"),
    ],
)
def test_upload_and_download_an_attachment(app, world, db, files, content, name, content_type, disposition):
    anchor_id = world.anchors[0]
    trainer = client_as(app, world.emails["trainer"])
    resp = upload(trainer, anchor_id, content, name)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    row = db.scalar(select(AnchorAttachment))
    assert row.original_name == name and row.content_type == content_type and row.size_bytes == len(content)
    assert stored_files(files) == [row.stored_name]
    assert re.fullmatch(r"[0-9a-f]{32}\.(pdf|png|jpg)", row.stored_name)
    assert not (Path(app.root_path) / "static" / row.stored_name).exists()
    assert (files / row.stored_name).read_bytes() == content

    status, data, headers = fetch(trainer, f"/trainer/anchors/{anchor_id}/attachments/{row.id}")
    assert status == 200
    assert data == content
    assert headers["Content-Type"] == content_type
    assert headers["Content-Disposition"].startswith(disposition)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"

    # Evidence, not key: an assigned assessor gets it before scoring, linked from the scoring page.
    assessor = client_as(app, world.emails["assessor2"])
    score_page = assessor.get(f"/rounds/{world.round_id}/anchors/{anchor_id}").get_data(as_text=True)
    link = f"/rounds/{world.round_id}/anchors/{anchor_id}/attachments/{row.id}"
    assert link in score_page and name in score_page
    status, data, headers = fetch(assessor, link)
    assert status == 200 and data == content
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (PNG, "scan.pdf", "is named like a PDF but its content is a PNG image"),
        (PDF, "picture.png", "is named like a PNG image but its content is a PDF"),
        (b"GIF89a" + bytes(32), "anim.png", "is not a real PNG image"),
        (b"MZ\x90\x00" + bytes(32), "evidence.pdf", "is not a real PDF"),
        (b"<html><script>alert(1)</script></html>", "page.jpg", "is not a real JPEG image"),
        (PDF, "notes.txt", "only PDF, PNG and JPEG files"),
        (PNG, "no-extension", "only PDF, PNG and JPEG files"),
        (b"", "empty.pdf", "is empty"),
        (PDF + bytes(MAX_BYTES), "big.pdf", "attachments can be at most 4.1 KB"),
    ],
)
def test_bad_uploads_are_refused_with_nothing_written(app, world, db, files, content, name, message):
    trainer = client_as(app, world.emails["trainer"])
    before = count(db, AnchorAttachment), count(db, AuditEvent)
    resp = upload(trainer, world.anchors[0], content, name)
    assert resp.status_code == 400  # a form error, never a bare 413
    page = resp.get_data(as_text=True)
    assert message in page, page
    assert 'id="file-error"' in page
    assert (count(db, AnchorAttachment), count(db, AuditEvent)) == before
    assert stored_files(files) == []


def test_upload_without_a_file_is_a_form_error(app, world, db, files):
    trainer = client_as(app, world.emails["trainer"])
    resp = post_form(trainer, f"/trainer/anchors/{world.anchors[0]}/attachments", {})
    assert resp.status_code == 400
    assert "Choose a file to attach." in resp.get_data(as_text=True)
    assert stored_files(files) == []


def test_oversize_message_reports_the_real_size(app, world, db, files):
    trainer = client_as(app, world.emails["trainer"])
    resp = upload(trainer, world.anchors[0], PDF + bytes(20_000), "scan.pdf")
    assert resp.status_code == 400
    assert f"is {(len(PDF) + 20_000) / 1000:.1f} KB" in resp.get_data(as_text=True)


def test_remove_an_attachment(app, world, db, files):
    anchor_id = world.anchors[0]
    trainer = client_as(app, world.emails["trainer"])
    upload(trainer, anchor_id, PDF, "a.pdf")
    row_id = db.scalar(select(AnchorAttachment.id))
    url = f"/trainer/anchors/{anchor_id}/attachments/{row_id}/remove"
    resp = post_form(trainer, url, {}, token_page=f"/trainer/anchors/{anchor_id}/attachments")
    assert resp.status_code == 302
    assert count(db, AnchorAttachment) == 0
    assert stored_files(files) == []
    assert count(db, AuditEvent, AuditEvent.action == "anchor.attachment_remove") == 1
    assert trainer.get(f"/trainer/anchors/{anchor_id}/attachments/{row_id}").status_code == 404


# --------------------------------------------------------------------------------------- access
MY_ENDPOINTS = {
    "trainer.rubric_page",
    "trainer.anchor_page",
    "trainer.anchor_edit",
    "trainer.anchor_key",
    "trainer.anchor_attachments",
    "trainer.anchor_attachment",
    "trainer.anchor_attachment_remove",
}
UNSCOPED = {"trainer.rubrics", "trainer.rubric_upload", "trainer.anchors", "trainer.anchor_new"}


def _urls(app: Any, world: Any, attachment_id: int) -> list[tuple[str, str, set[str]]]:
    from flask import url_for

    values = {
        "anchor_id": world.anchors[0],
        "attachment_id": attachment_id,
        "rubric_version_id": world.rubric_id,
    }
    out = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint in MY_ENDPOINTS | UNSCOPED:
                out.append(
                    (
                        rule.endpoint,
                        url_for(rule.endpoint, **{k: values[k] for k in rule.arguments}),
                        rule.methods,
                    )
                )
    return out


@pytest.mark.parametrize(("who", "token_page"), [("assessor", "/dashboard"), ("trainer_b", "/trainer/")])
def test_other_roles_and_programs_get_404_everywhere(app, world, db, files, who, token_page):
    trainer = client_as(app, world.emails["trainer"])
    upload(trainer, world.anchors[0], PDF, "a.pdf")
    attachment_id = db.scalar(select(AnchorAttachment.id))
    other = client_as(app, world.emails[who])
    before = (
        count(db, Anchor),
        count(db, AnchorKeyVersion),
        count(db, AnchorAttachment),
        count(db, AuditEvent, AuditEvent.action != "access.denied"),  # refusals are audited
    )
    for endpoint, url, methods in _urls(app, world, attachment_id):
        scoped = endpoint in MY_ENDPOINTS
        if "GET" in methods:
            status = other.get(url).status_code
            expected = 200 if (who == "trainer_b" and not scoped) else 404
            assert status == expected, (who, url, status)
        if "POST" in methods and (scoped or who == "assessor"):
            resp = post_form(
                other,
                url,
                {"title": "x", "evidence_md": "x", "file": (io.BytesIO(PDF), "x.pdf")},
                token_page=token_page,
            )
            assert resp.status_code == 404, (who, "POST", url, resp.status_code)
    after = (
        count(db, Anchor),
        count(db, AnchorKeyVersion),
        count(db, AnchorAttachment),
        count(db, AuditEvent, AuditEvent.action != "access.denied"),  # refusals are audited
    )
    assert after == before
    if who == "trainer_b":
        listing = other.get("/trainer/anchors").get_data(as_text=True)
        assert "Anchor 1" not in listing and "Beta anchor" in listing
    anonymous = app.test_client()
    for _endpoint, url, methods in _urls(app, world, attachment_id):
        if "GET" in methods:
            assert anonymous.get(url).status_code == 302, url


def test_attachment_downloads_are_scoped(app, world, db, files):
    trainer = client_as(app, world.emails["trainer"])
    upload(trainer, world.anchors[0], PDF, "a.pdf")
    upload(trainer, world.anchors[1], PNG, "b.png")
    first, second = db.scalars(select(AnchorAttachment.id).order_by(AnchorAttachment.id)).all()
    program_a = db.get(Program, world.program_a)
    make_user(db, program_a, "unassigned@a.test", Role.ASSESSOR)
    db.commit()
    round_url = f"/rounds/{world.round_id}/anchors/{world.anchors[0]}/attachments"
    # Another anchor's file through this anchor's URL, on either side.
    assert trainer.get(f"/trainer/anchors/{world.anchors[0]}/attachments/{second}").status_code == 404
    assessor = client_as(app, world.emails["assessor"])
    assert fetch(assessor, f"{round_url}/{first}")[0] == 200
    assert assessor.get(f"{round_url}/{second}").status_code == 404
    # Assessors outside the round or the program, and another program's trainer: 404.
    for email in ("unassigned@a.test", world.emails["assessor_b"], world.emails["trainer_b"]):
        assert client_as(app, email).get(f"{round_url}/{first}").status_code == 404, email
    b_round = f"/rounds/{world.round_b}/anchors/{world.anchor_b}/attachments/{first}"
    assert client_as(app, world.emails["assessor_b"]).get(b_round).status_code == 404
    # A row whose file has gone missing is a 404, not a 500.
    for path in files.iterdir():
        path.unlink()
    assert trainer.get(f"/trainer/anchors/{world.anchors[0]}/attachments/{first}").status_code == 404


def test_anchor_list_shows_how_many_certified_assessors_have_read_each_key(app, world, db):
    submit(db, world, "assessor", 0)
    submit(db, world, "assessor2", 0)
    submit(db, world, "assessor", 1)
    page = client_as(app, world.emails["trainer"]).get("/trainer/anchors").get_data(as_text=True)
    assert '<th scope="col">Key seen by</th>' in page

    def seen(title: str) -> str:
        row = re.search(rf">{title}</a></td>(.*?)</tr>", page, re.S)
        assert row is not None, title
        return re.findall(r"<td>([^<]*certified assessors?)</td>", row.group(1))[0]

    assert seen("Anchor 1") == "2 of 2 certified assessors"
    assert seen("Anchor 2") == "1 of 2 certified assessors"
    assert seen("Anchor 3") == "0 of 2 certified assessors"
