"""Anchors for lead trainers: evidence, purpose and status, the versioned master key, attachment
files, and how certified assessors scored each anchor against the current key.

Every look-up is scoped by program (out of scope is :class:`NotFound`). A key is never edited in
place: a change adds an :class:`AnchorKeyVersion` with a reason, so score sheets keep pointing at
the version they were scored against.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    AnchorPurpose,
    AnchorStatus,
    RubricVersion,
)
from . import audit, recalibration
from .anchor_files import (
    FILE_KINDS,
    FILENAME_MAX_CHARS,
    AttachmentFile,
    FileKind,
    add_attachment,
    attachment_file,
    clean_filename,
    discard_file,
    get_attachment,
    read_upload,
    remove_attachment,
    sniff,
)
from .anchor_queries import (
    AnchorListItem,
    AnchorOverview,
    CriterionAgreement,
    KeyHistoryLine,
    anchor_overview,
    certified_scores,
    current_key,
    get_anchor,
    key_history,
    program_anchors,
    program_rubric_versions,
)
from .context import Actor, Member, SystemActor
from .errors import InvalidInput
from .scoring import ONE_LINE_MESSAGE, has_control_characters, is_one_line, rubric_with_levels

__all__ = [
    "EVIDENCE_MAX_CHARS",
    "FILENAME_MAX_CHARS",
    "FILE_KINDS",
    "RATIONALE_MAX_CHARS",
    "REASON_MAX_CHARS",
    "TITLE_MAX_CHARS",
    "AnchorListItem",
    "AnchorOverview",
    "AttachmentFile",
    "CriterionAgreement",
    "FileKind",
    "KeyHistoryLine",
    "add_attachment",
    "anchor_overview",
    "attachment_file",
    "certified_scores",
    "change_key",
    "clean_filename",
    "create_anchor",
    "current_key",
    "discard_file",
    "get_anchor",
    "get_attachment",
    "key_history",
    "program_anchors",
    "program_rubric_versions",
    "read_upload",
    "remove_attachment",
    "sniff",
    "update_anchor",
]

TITLE_MAX_CHARS = 200
EVIDENCE_MAX_CHARS = 100_000
RATIONALE_MAX_CHARS = 5_000
REASON_MAX_CHARS = 2_000


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
    actor: Member,
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
    actor: Member,
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
    new_purpose, new_status = AnchorPurpose(purpose), AnchorStatus(status)
    new = {"title": title, "purpose": new_purpose, "status": new_status}
    changes: dict[str, object] = {
        name: [str(getattr(anchor, name)), str(value)]
        for name, value in new.items()
        if getattr(anchor, name) != value
    }
    if anchor.evidence_md != evidence_md:
        changes["evidence"] = "changed"
    if not changes:
        return []
    anchor.title, anchor.purpose, anchor.status = title, new_purpose, new_status
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
def change_key(
    session: Session,
    actor: Member,
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

    new = {  # every level is set: a missing one was refused above
        c.id: (int(level), rationales[c.id].strip())
        for c in rubric.criteria
        if (level := levels[c.id]) is not None
    }
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
