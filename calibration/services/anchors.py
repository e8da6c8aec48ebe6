"""Anchors for lead trainers: evidence, purpose and status, the versioned master key, attachment
files, and how certified assessors scored each anchor against the current key.

Every look-up is scoped by program (out of scope is :class:`NotFound`). A key is never edited in
place: a change adds an :class:`AnchorKeyVersion` with a reason, so score sheets keep pointing at
the version they were scored against.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..models import (
    Anchor,
    AnchorAttachment,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    AnchorStatus,
    CertificationStatus,
    Criterion,
    CriterionScore,
    Level,
    Membership,
    Role,
    RubricVersion,
    ScoreSheet,
    User,
    effective_level,
)
from ..models.attachments import size_label
from ..stats.anchors import AnchorRow, AnchorSummary, anchor_summary
from ..stats.labels import MIN_ANCHORS
from . import audit, recalibration
from .context import Actor, SystemActor
from .errors import InvalidInput, NotFound
from .exposure import anchor_exposure
from .policy import ProgramSettings
from .score_rows import int_columns
from .scoring import ONE_LINE_MESSAGE, has_control_characters, is_one_line, rubric_with_levels

TITLE_MAX_CHARS = 200
EVIDENCE_MAX_CHARS = 100_000
RATIONALE_MAX_CHARS = 5_000
REASON_MAX_CHARS = 2_000
FILENAME_MAX_CHARS = 255


# ------------------------------------------------------------------------------------------ look-ups
def get_anchor(session: Session, *, program_id: int, anchor_id: int) -> Anchor:
    """The anchor if it belongs to the program, else NotFound."""
    anchor = session.scalar(select(Anchor).where(Anchor.id == anchor_id, Anchor.program_id == program_id))
    if anchor is None:
        raise NotFound("anchor")
    return anchor


def program_rubric_versions(session: Session, program_id: int) -> list[RubricVersion]:
    """Rubric versions an anchor can be written against, newest first within each slug."""
    return list(
        session.scalars(
            select(RubricVersion)
            .where(RubricVersion.program_id == program_id)
            .order_by(RubricVersion.slug, RubricVersion.version.desc())
        )
    )


@dataclass(frozen=True)
class AnchorListItem:
    anchor: Anchor
    rubric_title: str
    rubric_version: int
    key_version: int | None
    n_sheets: int
    n_attachments: int
    n_seen: int  # certified assessors who have seen its key (services/exposure.py)
    n_pool: int  # certified assessors in the program


def program_anchors(session: Session, program_id: int) -> list[AnchorListItem]:
    """Every anchor of the program with its key version, counts and key exposure, in six queries."""
    rows = session.execute(
        select(Anchor, RubricVersion.title, RubricVersion.version)
        .join(RubricVersion, RubricVersion.id == Anchor.rubric_version_id)
        .where(Anchor.program_id == program_id)
        .order_by(Anchor.status, Anchor.title, Anchor.id)
    ).all()
    ids = [anchor.id for anchor, _, _ in rows]
    keys = dict(
        session.execute(
            select(AnchorKeyVersion.anchor_id, func.max(AnchorKeyVersion.version))
            .where(AnchorKeyVersion.anchor_id.in_(ids))
            .group_by(AnchorKeyVersion.anchor_id)
        ).all()
    )
    sheets = dict(
        session.execute(
            select(ScoreSheet.anchor_id, func.count())
            .where(ScoreSheet.anchor_id.in_(ids))
            .group_by(ScoreSheet.anchor_id)
        ).all()
    )
    files = dict(
        session.execute(
            select(AnchorAttachment.anchor_id, func.count())
            .where(AnchorAttachment.anchor_id.in_(ids))
            .group_by(AnchorAttachment.anchor_id)
        ).all()
    )
    exposed = anchor_exposure(session, program_id)
    return [
        AnchorListItem(
            a,
            title,
            version,
            keys.get(a.id),
            sheets.get(a.id, 0),
            files.get(a.id, 0),
            exposed.seen_by(a.id),
            exposed.pool,
        )
        for a, title, version in rows
    ]


# ------------------------------------------------------------------------------------ anchor fields
def _check_text(
    errors: dict[str, list[str]],
    name: str,
    value: str,
    *,
    label: str,
    max_chars: int,
    required: bool = True,
    one_line: bool = False,
) -> None:
    if required and not value.strip():
        errors[name] = [f"{label} is required."]
    elif len(value) > max_chars:
        errors[name] = [f"{label} can be at most {max_chars:,} characters (you have {len(value):,})."]
    elif one_line and not is_one_line(value):
        errors[name] = [f"{label} {ONE_LINE_MESSAGE}."]
    elif has_control_characters(value):
        errors[name] = [f"{label} contains a control character (such as NUL) that cannot be stored."]


def _check_anchor_fields(title: str, evidence_md: str, purpose: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    # The title goes into mail subjects (review notices), so it is one line.
    _check_text(errors, "title", title, label="The title", max_chars=TITLE_MAX_CHARS, one_line=True)
    _check_text(errors, "evidence_md", evidence_md, label="The evidence", max_chars=EVIDENCE_MAX_CHARS)
    if purpose not in {p.value for p in AnchorPurpose}:
        errors["purpose"] = ["Choose a purpose: practice, qualification or calibration."]
    return errors


def create_anchor(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    rubric_version_id: int,
    title: str,
    purpose: str,
    evidence_md: str,
) -> Anchor:
    """A new anchor, always a draft: it becomes active only once it has a master key."""
    title = title.strip()
    errors = _check_anchor_fields(title, evidence_md, purpose)
    rubric = session.scalar(
        select(RubricVersion).where(
            RubricVersion.id == rubric_version_id, RubricVersion.program_id == program_id
        )
    )
    if rubric is None:
        errors["rubric_version_id"] = ["Choose one of this program's rubrics."]
    if errors:
        raise InvalidInput("Some fields need attention; nothing was saved.", errors)
    anchor = Anchor(
        program_id=program_id,
        rubric_version_id=rubric_version_id,
        title=title,
        evidence_md=evidence_md,
        purpose=AnchorPurpose(purpose),
        status=AnchorStatus.DRAFT,
        created_by_id=actor.user_id,
    )
    session.add(anchor)
    session.flush()
    audit.record(
        session,
        actor,
        "anchor.create",
        object_type="anchor",
        object_id=anchor.id,
        program_id=program_id,
        detail={"title": title, "purpose": purpose, "rubric_version_id": rubric_version_id},
    )
    return anchor


def update_anchor(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    anchor_id: int,
    title: str,
    purpose: str,
    status: str,
    evidence_md: str,
) -> list[str]:
    """Change title, purpose, status or evidence; returns the names of the fields that changed.

    An anchor without a master key cannot be made active (assessors could not be scored on it).
    """
    anchor = get_anchor(session, program_id=program_id, anchor_id=anchor_id)
    title = title.strip()
    errors = _check_anchor_fields(title, evidence_md, purpose)
    if status not in {s.value for s in AnchorStatus}:
        errors["status"] = ["Choose a status: draft, active or retired."]
    elif (
        status == AnchorStatus.ACTIVE
        and anchor.status != AnchorStatus.ACTIVE
        and current_key(session, anchor.id) is None
    ):
        errors["status"] = ["Set the master key before making this anchor active."]
    if errors:
        raise InvalidInput("Some fields need attention; nothing was saved.", errors)
    new = {"title": title, "purpose": AnchorPurpose(purpose), "status": AnchorStatus(status)}
    changes: dict[str, object] = {
        name: [str(getattr(anchor, name)), str(value)]
        for name, value in new.items()
        if getattr(anchor, name) != value
    }
    if anchor.evidence_md != evidence_md:
        changes["evidence"] = "changed"
    if not changes:
        return []
    anchor.title, anchor.purpose, anchor.status = new["title"], new["purpose"], new["status"]  # type: ignore[assignment]
    anchor.evidence_md = evidence_md
    session.flush()
    audit.record(
        session,
        actor,
        "anchor.update",
        object_type="anchor",
        object_id=anchor.id,
        program_id=program_id,
        detail=changes,
    )
    if changes.keys() & {"status", "purpose"}:
        _anchors_changed(session, actor, anchor)
    return list(changes)


def _anchors_changed(session: Session, actor: Actor, anchor: Anchor) -> None:
    """An anchor that may now serve a recalibration round: start what waits for anchors."""
    if anchor.status == AnchorStatus.ACTIVE and anchor.purpose in recalibration.COUNTING_PURPOSES:
        recalibration.retry_waiting(
            session, SystemActor(anchor.program_id, actor.request_id), program_id=anchor.program_id
        )


# -------------------------------------------------------------------------------------------- keys
def current_key(session: Session, anchor_id: int) -> AnchorKeyVersion | None:
    """The newest key version with its entries, or None when the anchor has no key yet."""
    return session.scalar(
        select(AnchorKeyVersion)
        .where(AnchorKeyVersion.anchor_id == anchor_id)
        .order_by(AnchorKeyVersion.version.desc())
        .limit(1)
        .options(selectinload(AnchorKeyVersion.entries))
    )


def change_key(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    anchor_id: int,
    levels: Mapping[int, int | None],
    rationales: Mapping[int, str],
    reason: str,
    base_version: int | None,
) -> AnchorKeyVersion:
    """Store a new key version (the first, or current + 1): a level and a rationale per criterion.

    ``base_version`` is the version the trainer was looking at (None for "no key yet"): if someone
    else saved a version meanwhile, nothing is stored. A change needs a reason; an unchanged key
    is refused, so versions always mean something.
    """
    anchor = get_anchor(session, program_id=program_id, anchor_id=anchor_id)
    rubric = rubric_with_levels(session, anchor.rubric_version_id)
    level_ids = {level.value: level.id for level in rubric.levels}
    current = current_key(session, anchor.id)
    current_version = current.version if current else None
    errors: dict[str, list[str]] = {}
    if base_version != current_version:
        raise InvalidInput(
            "Someone else saved a new key version while you were editing (now version "
            f"{current_version}). Review the current key below, then make your change again."
        )
    known = {c.id for c in rubric.criteria}
    if (set(levels) | set(rationales)) - known:
        errors["form"] = ["The form included a criterion that is not part of this rubric; reload the page."]
    for criterion in rubric.criteria:
        value = levels.get(criterion.id)
        if value is None:
            errors[f"level_{criterion.id}"] = [f"Choose the key level for “{criterion.title}”."]
        elif value not in level_ids:
            errors[f"level_{criterion.id}"] = [
                f"“{value}” is not a level of this rubric; choose one of {', '.join(map(str, level_ids))}."
            ]
        _check_text(
            errors,
            f"rationale_{criterion.id}",
            rationales.get(criterion.id, ""),
            label=f"The rationale for “{criterion.title}”",
            max_chars=RATIONALE_MAX_CHARS,
        )
    reason = reason.strip()
    if current is not None and not reason:
        errors["reason"] = ["Say why the key is changing; the reason is kept in the key history."]
    elif reason:
        _check_text(errors, "reason", reason, label="The reason", max_chars=REASON_MAX_CHARS)
    if errors:
        raise InvalidInput("The key needs attention; nothing was saved.", errors)

    new = {c.id: (int(levels[c.id]), rationales[c.id].strip()) for c in rubric.criteria}  # type: ignore[arg-type]
    old = {e.criterion_id: (e.level_value, e.rationale) for e in current.entries} if current else {}
    if new == old:
        raise InvalidInput(f"Nothing changed: the key is the same as version {current_version}.")
    version = AnchorKeyVersion(
        anchor_id=anchor.id,
        version=(current_version or 0) + 1,
        reason=reason or "Initial key",
        created_by_id=actor.user_id,
    )
    version.entries = [
        AnchorKeyEntry(criterion_id=cid, level_id=level_ids[level], level_value=level, rationale=text)
        for cid, (level, text) in new.items()
    ]
    try:
        with session.begin_nested():
            session.add(version)
            session.flush()
    except IntegrityError:
        # The (anchor, version) constraint caught a concurrent save of the same version number.
        raise InvalidInput(
            "Someone else saved a new key version at the same moment; reload and review it."
        ) from None
    keys = {c.id: c.key for c in rubric.criteria}
    audit.record(
        session,
        actor,
        "anchor.key_change",
        object_type="anchor",
        object_id=anchor.id,
        program_id=program_id,
        detail={
            "key_version_id": version.id,
            "version": version.version,
            "reason": version.reason,
            "levels": {keys[cid]: [old[cid][0] if cid in old else None, lv] for cid, (lv, _) in new.items()},
            "rationale_changed": sorted(
                keys[cid] for cid in new if cid in old and old[cid][1] != new[cid][1]
            ),
        },
    )
    _anchors_changed(session, actor, anchor)  # an active anchor's new key may cover what was missing
    return version


@dataclass(frozen=True)
class KeyHistoryLine:
    version: AnchorKeyVersion
    author: str | None
    n_sheets: int
    levels: dict[int, int]  # criterion id -> key level


def key_history(session: Session, anchor_id: int) -> list[KeyHistoryLine]:
    """Every key version, newest first, with who saved it and how many sheets were scored against it."""
    versions = list(
        session.scalars(
            select(AnchorKeyVersion)
            .where(AnchorKeyVersion.anchor_id == anchor_id)
            .order_by(AnchorKeyVersion.version.desc())
            .options(selectinload(AnchorKeyVersion.entries))
        )
    )
    authors = dict(
        session.execute(
            select(User.id, User.name).where(
                User.id.in_({v.created_by_id for v in versions if v.created_by_id})
            )
        ).all()
    )
    sheets = dict(
        session.execute(
            select(ScoreSheet.key_version_id, func.count())
            .where(ScoreSheet.anchor_id == anchor_id)
            .group_by(ScoreSheet.key_version_id)
        ).all()
    )
    return [
        KeyHistoryLine(
            v,
            authors.get(v.created_by_id) if v.created_by_id else None,
            sheets.get(v.id, 0),
            {e.criterion_id: e.level_value for e in v.entries},
        )
        for v in versions
    ]


# ------------------------------------------------------------------------- agreement with the key
@dataclass(frozen=True)
class CriterionAgreement:
    """How certified assessors scored one criterion of the anchor, against the current key."""

    criterion: Criterion
    key_level: int
    row: AnchorRow | None  # None: no certified assessor has scored this anchor yet


@dataclass(frozen=True)
class AnchorOverview:
    anchor: Anchor
    rubric: RubricVersion
    key: AnchorKeyVersion | None
    history: list[KeyHistoryLine]
    agreement: list[CriterionAgreement] = field(default_factory=list)
    n_assessors: int = 0
    min_ratings: int = MIN_ANCHORS  # the program's minimum evidence for a contentious marker

    @property
    def levels(self) -> list[Level]:
        return list(self.rubric.levels)

    @property
    def contentious(self) -> list[CriterionAgreement]:
        return [a for a in self.agreement if a.row is not None and a.row.contentious]

    def key_entry(self, criterion_id: int) -> AnchorKeyEntry | None:
        if self.key is None:
            return None
        return next((e for e in self.key.entries if e.criterion_id == criterion_id), None)


def certified_scores(session: Session, anchor: Anchor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(assessor, criterion, level) of certified assessors' final sheets on this anchor, all rounds.

    An assessor who scored the anchor in several rounds counts once, with their latest sheet: the
    summary asks how many *assessors* disagree with the key, not how many sheets.
    """
    stmt = (
        select(ScoreSheet.id, ScoreSheet.assessor_id, CriterionScore.criterion_id, effective_level())
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .join(
            Membership,
            (Membership.user_id == ScoreSheet.assessor_id) & (Membership.program_id == anchor.program_id),
        )
        .where(
            ScoreSheet.anchor_id == anchor.id,
            Membership.role == Role.ASSESSOR,
            Membership.certification_status == CertificationStatus.CERTIFIED,
        )
    )
    arr = int_columns(session, stmt, 4)
    if arr.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    order = np.argsort(-arr[:, 0], kind="stable")  # latest sheet first
    _, first = np.unique(arr[order][:, 1:3], axis=0, return_index=True)
    keep = arr[order[first]]
    return keep[:, 1], keep[:, 2], keep[:, 3]


def anchor_overview(session: Session, *, program_id: int, anchor_id: int) -> AnchorOverview:
    """The anchor, its current key and history, and certified assessors' scores vs the current key
    (statistics from :func:`calibration.stats.anchors.anchor_summary`)."""
    anchor = get_anchor(session, program_id=program_id, anchor_id=anchor_id)
    rubric = rubric_with_levels(session, anchor.rubric_version_id)
    key = current_key(session, anchor.id)
    history = key_history(session, anchor.id)
    if key is None:
        return AnchorOverview(anchor, rubric, None, history)
    key_level = {e.criterion_id: e.level_value for e in key.entries}
    min_ratings = ProgramSettings.of_program(session, program_id).pass_rule.min_anchors
    assessors, criteria, values = certified_scores(session, anchor)
    mask = np.isin(criteria, np.fromiter(key_level, dtype=np.int64))
    assessors, criteria, values = assessors[mask], criteria[mask], values[mask]
    summary: AnchorSummary | None = None
    if criteria.size:
        keys = np.array([key_level[int(c)] for c in criteria], dtype=np.int64)
        summary = anchor_summary(
            np.full(criteria.size, anchor.id),
            assessors,
            values,
            keys,
            levels=rubric.level_values,
            criteria=criteria,
            min_ratings=min_ratings,
        )
    rows = {row.criterion: row for row in summary.rows} if summary else {}
    agreement = [
        CriterionAgreement(c, key_level[c.id], rows.get(c.id)) for c in rubric.criteria if c.id in key_level
    ]
    return AnchorOverview(
        anchor, rubric, key, history, agreement, int(np.unique(assessors).size), min_ratings
    )


# ------------------------------------------------------------------------------------- attachments
@dataclass(frozen=True)
class FileKind:
    name: str
    content_type: str
    extension: str
    signatures: tuple[bytes, ...]


# Decided from the first bytes: the name's extension must agree, the browser's claim is ignored.
FILE_KINDS = (
    FileKind("PDF", "application/pdf", ".pdf", (b"%PDF-",)),
    FileKind("PNG image", "image/png", ".png", (b"\x89PNG\r\n\x1a\n",)),
    FileKind("JPEG image", "image/jpeg", ".jpg", (b"\xff\xd8\xff",)),
)
_KIND_BY_EXTENSION = {
    ".pdf": FILE_KINDS[0],
    ".png": FILE_KINDS[1],
    ".jpg": FILE_KINDS[2],
    ".jpeg": FILE_KINDS[2],
}
_KIND_BY_TYPE = {k.content_type: k for k in FILE_KINDS}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|png|jpg)$")


def sniff(head: bytes) -> FileKind | None:
    """The allowed kind whose signature starts ``head``, if any."""
    return next((k for k in FILE_KINDS if any(head.startswith(s) for s in k.signatures)), None)


def clean_filename(filename: str) -> str:
    """The uploaded name for display: last path part, no control characters, at most 255 characters."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f-\x9f]", "", name).strip()
    if len(name) > FILENAME_MAX_CHARS:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: FILENAME_MAX_CHARS - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else name[:255]
        )
    return name


def read_upload(stream: IO[bytes], limit: int) -> tuple[bytes, int]:
    """At most ``limit + 1`` bytes of an upload and its full size (the rest is never read into memory)."""
    data = stream.read(limit + 1)
    size = len(data)
    if size > limit:
        # Not seekable: "more than the limit" is all we can say, and all we need.
        with contextlib.suppress(OSError, ValueError):
            size = stream.seek(0, os.SEEK_END)
    return data, size


def add_attachment(
    session: Session,
    actor: Actor,
    *,
    program_id: int,
    anchor_id: int,
    filename: str,
    stream: IO[bytes],
    directory: str,
    max_bytes: int,
) -> AnchorAttachment:
    """Check an uploaded file (kind from its first bytes, extension agreeing, size) and store it under a
    random name in ``directory``. Raises InvalidInput (field ``file``) with nothing written."""
    anchor = get_anchor(session, program_id=program_id, anchor_id=anchor_id)
    name = clean_filename(filename)
    data, size = read_upload(stream, max_bytes)
    kind = _KIND_BY_EXTENSION.get(Path(name).suffix.lower())
    problem = None
    if not name:
        problem = "Choose a file to attach."
    elif kind is None:
        problem = f"“{name}” cannot be attached: only PDF, PNG and JPEG files (.pdf, .png, .jpg, .jpeg) are allowed."
    elif size == 0:
        problem = f"“{name}” is empty."
    elif size > max_bytes:
        problem = f"“{name}” is {size_label(size)}; attachments can be at most {size_label(max_bytes)}."
    else:
        found = sniff(data[:16])
        if found is None:
            problem = (
                f"“{name}” is not a real {kind.name}: its content is not a PDF, PNG or JPEG file. "
                "Only PDF, PNG and JPEG files can be attached."
            )
        elif found != kind:
            problem = (
                f"“{name}” is named like a {kind.name} but its content is a {found.name}. "
                f"Rename it to end in {found.extension} (or upload the right file) and try again."
            )
    if problem:
        raise InvalidInput(problem, {"file": [problem]})
    assert kind is not None
    stored_name = secrets.token_hex(16) + kind.extension
    attachment = AnchorAttachment(
        anchor_id=anchor.id,
        stored_name=stored_name,
        original_name=name,
        content_type=kind.content_type,
        size_bytes=size,
        sha256=hashlib.sha256(data).hexdigest(),
        created_by_id=actor.user_id,
    )
    session.add(attachment)
    session.flush()
    _write_file(Path(directory), stored_name, data)
    audit.record(
        session,
        actor,
        "anchor.attachment_add",
        object_type="anchor",
        object_id=anchor.id,
        program_id=program_id,
        detail={"attachment_id": attachment.id, "name": name, "type": kind.content_type, "bytes": size},
    )
    return attachment


def _write_file(directory: Path, stored_name: str, data: bytes) -> None:
    """Write atomically (temporary file, then rename) so a reader never sees half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / stored_name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def discard_file(directory: str, stored_name: str) -> None:
    """Remove a stored file (after its row is gone: call once the transaction has committed)."""
    if _STORED_NAME.match(stored_name):
        (Path(directory) / stored_name).unlink(missing_ok=True)


def get_attachment(session: Session, *, anchor_id: int, attachment_id: int) -> AnchorAttachment:
    """An attachment of this anchor (the caller has already resolved the anchor in scope)."""
    attachment = session.scalar(
        select(AnchorAttachment).where(
            AnchorAttachment.id == attachment_id, AnchorAttachment.anchor_id == anchor_id
        )
    )
    if attachment is None:
        raise NotFound("attachment")
    return attachment


def remove_attachment(
    session: Session, actor: Actor, *, program_id: int, anchor_id: int, attachment_id: int
) -> str:
    """Delete the row (audited) and return the stored name, for :func:`discard_file` after commit."""
    anchor = get_anchor(session, program_id=program_id, anchor_id=anchor_id)
    attachment = get_attachment(session, anchor_id=anchor.id, attachment_id=attachment_id)
    stored_name, name = attachment.stored_name, attachment.original_name
    session.delete(attachment)
    session.flush()
    audit.record(
        session,
        actor,
        "anchor.attachment_remove",
        object_type="anchor",
        object_id=anchor.id,
        program_id=program_id,
        detail={"attachment_id": attachment_id, "name": name},
    )
    return stored_name


@dataclass(frozen=True)
class AttachmentFile:
    """What a view needs to send a stored file."""

    path: Path
    content_type: str
    download_name: str
    as_attachment: bool  # PDFs download; images show inline


def attachment_file(attachment: AnchorAttachment, directory: str) -> AttachmentFile:
    """The stored file of an attachment; NotFound if its name is not one we generate or it is missing."""
    kind = _KIND_BY_TYPE.get(attachment.content_type)
    path = Path(directory) / attachment.stored_name
    if kind is None or not _STORED_NAME.match(attachment.stored_name) or not path.is_file():
        raise NotFound("attachment file")
    stem = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(attachment.original_name).stem).strip(" .") or "attachment"
    return AttachmentFile(
        path, kind.content_type, stem[:100] + kind.extension, kind.content_type == "application/pdf"
    )
