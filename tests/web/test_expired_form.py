"""An expired form (a stale CSRF token) writes nothing, explains, and keeps what was typed."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from calibration.models import ScoreSheet

from ..factories import score_form


def hidden_fields(page: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def test_expired_score_form_keeps_the_levels_and_note_and_can_be_sent_again(client, login, world, db):
    login(world.emails["assessor"])
    anchor = world.anchors[0]
    url = f"/rounds/{world.round_id}/anchors/{anchor}"
    data = score_form(world, world.keys[anchor], notes="Criterion 2 was close; <b>the log</b> decided it")
    resp = client.post(url, data={**data, "csrf_token": "expired-token"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "This form has expired" in page and "Nothing was saved" in page
    assert "&lt;b&gt;the log&lt;/b&gt;" in page and "<b>the log</b>" not in page  # shown, escaped
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0

    kept = {name: values[0] for name, values in hidden_fields(page).items()}
    fresh_token = kept.pop("csrf_token")
    assert fresh_token != "expired-token"
    assert kept == data
    again = client.post(url, data={**kept, "csrf_token": fresh_token})  # the page's "Send again"
    assert again.status_code == 302 and again.headers["Location"].endswith("/feedback")
    db.rollback()
    notes = db.scalar(select(ScoreSheet.notes).where(ScoreSheet.anchor_id == anchor))
    assert notes == data["notes"]


def test_expired_login_never_echoes_the_password(client, world):
    resp = client.post(
        "/login", data={"email": world.emails["assessor"], "password": "hunter2-secret", "csrf_token": "x"}
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert world.emails["assessor"] in page
    assert "hunter2-secret" not in page
