"""Issue 16, item 10: assessor pages say the pass rule's checks in words. "Decision agreement at the
earn cut" becomes the same earned-or-not call as the key, with the level that counts as earned named."""

from __future__ import annotations

from sqlalchemy import select

from calibration.models import Level, RubricVersion
from calibration.services.plain_words import plain_rule_message

from ..factories import submit

JARGON = ("earn cut", "decision agreement", "criterion-score")


def _earned_label(db, world) -> str:  # type: ignore[no-untyped-def]
    rubric = db.get(RubricVersion, world.rubric_id)
    return db.scalar(
        select(Level.label).where(Level.rubric_version_id == rubric.id, Level.value == rubric.earn_cut)
    )


def test_the_round_result_names_the_earned_level_in_words(client, login, world, db):
    for i in range(len(world.anchors)):
        submit(db, world, "assessor", i)
    label = _earned_label(db, world)
    login(world.emails["assessor"])
    pages = {
        url: client.get(url)
        for url in (f"/rounds/{world.round_id}/result", "/certification", "/progress", "/dashboard")
    }
    assert all(resp.status_code == 200 for resp in pages.values())
    result = pages[f"/rounds/{world.round_id}/result"].get_data(as_text=True)
    assert f"Same call as the key on whether a criterion is earned ({label} or above)" in result
    for url, resp in pages.items():
        text = resp.get_data(as_text=True).lower()
        assert not [w for w in JARGON if w in text], url


def test_stored_qualification_messages_are_said_in_words():
    stored = "Decision agreement at the earn cut 85% (17 of 20) is below the 90% required"
    assert plain_rule_message(stored, "Proficient") == (
        "Same call as the key on whether a criterion is earned (Proficient or above) 85% (17 of 20) "
        "is below the 90% required"
    )
    assert "earn cut" not in plain_rule_message(
        "Decision agreement not checked: the rubric has no earn cut", None
    )
