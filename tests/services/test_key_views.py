"""The key-view trail at the service level: an assessor's first sight of a key version is
recorded once, checked again inside the write (a second request that raced past the page's
read-only check writes nothing)."""

from __future__ import annotations

import json

from sqlalchemy import select

from calibration.models import AnchorKeyVersion, AuditEvent
from calibration.services import key_views
from calibration.services.context import Member

from ..factories import submit


def test_first_feedback_view_is_recorded_once(db, world):
    sheet = submit(db, world, "assessor", 0)
    kv = db.scalar(select(AnchorKeyVersion).where(AnchorKeyVersion.anchor_id == world.anchors[0]))
    me = Member(world.ids["assessor"], world.program_a, request_id="req-1")
    shown = {
        "anchor_id": world.anchors[0],
        "key_version_id": kv.id,
        "version": kv.version,
        "round_id": world.round_id,
        "sheet_id": sheet.id,
    }
    assert not key_views.has_seen(db, user_id=me.user_id, key_version_id=kv.id)
    assert key_views.record_first_feedback_view(db, me, **shown)
    db.commit()
    assert key_views.has_seen(db, user_id=me.user_id, key_version_id=kv.id)
    assert not key_views.record_first_feedback_view(db, me, **shown)  # the re-check in the write
    db.commit()
    # Seen by one assessor is not seen by another; an actor with no user is never recorded.
    assert not key_views.has_seen(db, user_id=world.ids["assessor2"], key_version_id=kv.id)
    assert not key_views.record_first_feedback_view(db, Member(None, world.program_a), **shown)
    db.commit()
    rows = list(db.scalars(select(AuditEvent).where(AuditEvent.action == key_views.KEY_VIEW)))
    assert len(rows) == 1
    assert rows[0].object_type == key_views.OBJECT_TYPE and rows[0].object_id == str(kv.id)
    assert rows[0].request_id == "req-1"
    assert json.loads(rows[0].detail_json)["via"] == "feedback"
