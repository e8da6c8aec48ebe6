"""The trainer's validity page (issue 18, item 6): rules, counts (expired and overdue included),
filters, accuracy with intervals, links to this stream's flags; the flag page and list name the
stream; other programs' trainers see nothing of it; bad filters get a message, never an error."""

from __future__ import annotations

import datetime as dt

from calibration.db import utcnow
from calibration.models import EvidenceStream
from calibration.services import drift, validity

from ..drift.test_validity_stream import answer_items
from ..factories_validity import fresh_anchors, set_validity_rules


def _seed(db, world):  # type: ignore[no-untyped-def]
    anchors = fresh_anchors(db, world, 12)
    set_validity_rules(db, world.program_a, max_per_week=100, live_items_between=0)
    answer_items(db, world, "assessor", anchors[:10], lenient=True, start=utcnow() - dt.timedelta(days=20))
    validity.assign(
        db, world.program_a, assessor=world.emails["assessor2"], external_ref="late-one",
        now=utcnow() - dt.timedelta(days=30),
    )  # fmt: skip
    validity.assign(db, world.program_a, assessor=world.emails["assessor2"], external_ref="waiting-one")
    db.commit()
    validity.expire_due(db)
    db.commit()
    flags = [
        f for f in drift.evaluate_program(db, world.program_a).flags if f.stream == EvidenceStream.VALIDITY
    ]
    db.commit()
    return flags


def test_the_page_shows_rules_counts_accuracy_assignments_and_flags(client, login, world, db):
    flags = _seed(db, world)
    assert flags
    login(world.emails["trainer"])
    html = client.get("/trainer/validity").get_data(as_text=True)
    assert "At most 100 items per assessor in any 7 days" in html
    assert "<dt>Answered</dt><dd>10</dd>" in html
    assert "<dt>Expired without an answer</dt><dd>1</dd>" in html
    assert "<dt>Waiting for an answer</dt><dd>1</dd>" in html
    assert "late-one" in html and "waiting-one" in html
    accuracy = html.split('id="validity-accuracy"')[1].split("</table>")[0]
    assert "Asha Assessor" in accuracy and "lenient" in accuracy and " to " in accuracy
    for f in flags:
        assert f'href="/trainer/flags/{f.id}"' in html
    # Filters.
    expired = client.get("/trainer/validity?status=expired").get_data(as_text=True)
    table = expired.split('id="validity-assignments"')[1]
    assert "late-one" in table and "waiting-one" not in table
    theirs = client.get(f"/trainer/validity?assessor={world.ids['assessor2']}").get_data(as_text=True)
    assert "Asha Assessor" not in theirs.split('id="validity-assignments"')[1]
    # The flag page and the flag list say where the evidence came from.
    page = client.get(f"/trainer/flags/{flags[0].id}").get_data(as_text=True)
    assert "Evidence: validity items in live scoring" in page and "validity item #" in page
    listed = client.get("/trainer/flags").get_data(as_text=True)
    assert "Evidence: validity items in live scoring" in listed


def test_bad_filters_get_a_message_not_an_error(client, login, world, db):
    login(world.emails["trainer"])
    for query in (
        "status=nope",
        "assessor=abc",
        "assessor=999999",
        "page=-3",
        "status=%00%01",
        "page=" + "9" * 50,
    ):
        r = client.get(f"/trainer/validity?{query}")
        assert r.status_code == 200, query
    assert "is not a status this list knows" in client.get("/trainer/validity?status=nope").get_data(
        as_text=True
    )


def test_another_programs_trainer_sees_nothing_of_it(client, login, world, db):
    _seed(db, world)
    login(world.emails["trainer_b"])
    html = client.get("/trainer/validity").get_data(as_text=True)
    assert "late-one" not in html and "Asha Assessor" not in html
    assert "<dt>Answered</dt><dd>0</dd>" in html


def test_assessors_cannot_open_it(client, login, world):
    login(world.emails["assessor"])
    assert client.get("/trainer/validity").status_code == 404  # the area is hidden from them
