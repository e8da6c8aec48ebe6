"""Sending a stored anchor attachment, for every audience that may download one."""

from __future__ import annotations

from flask import send_file
from werkzeug.wrappers import Response

from ..services.anchors import AttachmentFile


def send_attachment(f: AttachmentFile) -> Response:
    """Send a stored attachment: its own content type, never sniffed, never cached."""
    response = send_file(
        f.path,
        mimetype=f.content_type,
        as_attachment=f.as_attachment,
        download_name=f.download_name,
        conditional=False,
        etag=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
