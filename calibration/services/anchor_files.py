"""Files attached to anchors: what may be attached (PDF, PNG, JPEG, decided from the first bytes),
checking and storing an upload under a random name, removing it, and serving it back.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import (
    AnchorAttachment,
)
from ..models.attachments import size_label
from . import audit
from .anchor_queries import get_anchor
from .context import Member
from .errors import InvalidInput, NotFound

FILENAME_MAX_CHARS = 255


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
    actor: Member,
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
    session: Session, actor: Member, *, program_id: int, anchor_id: int, attachment_id: int
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
