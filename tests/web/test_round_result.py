"""Issue 16 items 4-6: the round result page, My progress, and two-level scales without "adjacent"."""

from __future__ import annotations

import re

from sqlalchemy import select

from calibration.models import Anchor, Program, Round, RoundKind, RubricVersion, User
from calibration.services import rounds
from calibration.services.context import Member
from calibration.services.scoring import submit_sheet

from ..conftest import post_form
from ..factories import make_anchor, make_round, score_form, submit


def _severe(world, index):  # type: ignore[no-untyped-def]
    """One level below the key wherever the scale allows: a clearly severe, failing round."""
    return [max(1, k - 1) for k in world.keys[world.anchors[index]]]


def _finish(db, world, who="assessor", levels=None):  # type: ignore[no-untyped-def]
    for i in range(len(world.anchors)):
        submit(db, world, who, i, levels(world, i) if levels else None)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_result_page_exists_only_after_the_last_sheet(client, login, world, db):
    login(world.emails["assessor"])
    url = f"/rounds/{world.round_id}/result"
    for i in range(len(world.anchors) - 1):
        submit(db, world, "assessor", i)
        assert client.get(url).status_code == 404  # before the last sheet: nothing to show
    assert f'href="{url}"' not in client.get(f"/rounds/{world.round_id}").get_data(as_text=True)
    submit(db, world, "assessor", len(world.anchors) - 1)
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Outcome:" in html and "Passed" in html
    n = len(world.anchors) * len(world.criteria)
    assert f"Exact agreement 100% ({n} of {n})" in html
    for link in (f"/rounds/{world.round_id}", "/certification", "/progress"):
        assert f'href="{link}"' in html
    # Linked from the round page, the dashboard and My certification.
    assert f'href="{url}"' in client.get(f"/rounds/{world.round_id}").get_data(as_text=True)
    assert f'href="{url}"' in client.get("/dashboard").get_data(as_text=True)
    assert f'href="{url}"' in client.get("/certification").get_data(as_text=True)


def test_failed_calibration_round_is_explained_not_left_as_certified(client, login, world, db):
    _finish(db, world, levels=_severe)
    login(world.emails["assessor"])
    html = client.get(f"/rounds/{world.round_id}/result").get_data(as_text=True)
    text = _text(html)
    assert "Not passed" in text
    assert re.search(r"Exact agreement with the key .*?Not met", text)
    # Figures with their intervals, and a direction only where the interval says so.
    assert re.search(r"\d+% \(\d+/25; \d+–\d+%\)", text)
    assert "Severe: your scores are below the key" in text
    assert "Lenient" not in text
    assert "recalibration" in text.lower()
    assert 'href="/sessions"' in html
    dashboard = _text(client.get("/dashboard").get_data(as_text=True))
    assert "Your latest result" in dashboard and "Not passed" in dashboard
    assert "You are still certified" in dashboard


def test_nobody_else_reaches_the_result(client, login, world, db):
    _finish(db, world)
    url = f"/rounds/{world.round_id}/result"
    login(world.emails["assessor2"])  # assigned to the round, has not finished it
    assert client.get(url).status_code == 404
    client.post("/logout")
    login(world.emails["assessor_b"])
    assert client.get(url).status_code == 404


def _binary_round(db, world, *, kind=RoundKind.CALIBRATION):  # type: ignore[no-untyped-def]
    program = db.get(Program, world.program_a)
    rubric = db.scalar(
        select(RubricVersion).where(
            RubricVersion.program_id == world.program_a,
            RubricVersion.slug == "implementing-equitable-practices",
        )
    )
    n = len(rubric.criteria)
    keys = [[(i + j) % 2 for j in range(n)] for i in range(5)]
    anchors = [
        make_anchor(db, program, rubric, title=f"Binary anchor {i + 1}", key_levels=keys[i]) for i in range(5)
    ]
    user = db.get(User, world.ids["assessor"])
    rnd = make_round(db, program, rubric, anchors, [user], name="Binary round", kind=kind)
    db.commit()
    return rnd.id, [a.id for a in anchors], keys, [c.id for c in rubric.criteria]


def test_two_level_rubric_says_no_adjacent_and_marks_checks_that_cannot_fail(client, login, world, db):
    round_id, anchors, keys, criteria = _binary_round(db, world)
    me = Member(world.ids["assessor"], world.program_a)
    for anchor, key in zip(anchors, keys, strict=True):
        mine = [1 - key[0], *key[1:]]  # the first criterion missed every time
        submit_sheet(
            db,
            me,
            round_id=round_id,
            anchor_id=anchor,
            levels=dict(zip(criteria, mine, strict=True)),
            notes="",
        )
    db.commit()
    login(world.emails["assessor"])
    pages = [
        f"/rounds/{round_id}/anchors/{anchors[0]}/feedback",
        f"/rounds/{round_id}/result",
        f"/rounds/{round_id}",
        "/dashboard",
        "/progress",
        "/certification",
    ]
    for url in pages:
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert "adjacent" not in resp.get_data(as_text=True).lower(), url
    feedback = _text(client.get(pages[0]).get_data(as_text=True))
    assert "Does not match: the key is" in feedback
    assert "within one level" not in feedback.lower()
    result = _text(client.get(pages[1]).get_data(as_text=True))
    assert re.search(r"Within one level of the key .*?Not applicable", result)
    assert re.search(r"Scores two or more levels off .*?Not applicable", result)
    assert not re.search(r"Within one level of the key [^|]*?Met\b", result.split("Not applicable")[0])


def test_default_rule_for_a_two_level_rubric_asks_ninety_percent(db, world):
    binary = db.scalar(
        select(RubricVersion.id).where(
            RubricVersion.program_id == world.program_a,
            RubricVersion.slug == "implementing-equitable-practices",
        )
    )
    assert rounds.default_pass_rule(db, world.program_a, binary)["min_exact"] == 0.9
    assert rounds.default_pass_rule(db, world.program_a, world.rubric_id)["min_exact"] == 0.7
    assert rounds.default_pass_rule(db, world.program_a)["min_exact"] == 0.7


def test_my_progress_shows_only_my_own_revealed_scores(client, login, world, db):
    submit(db, world, "assessor", 0)
    _finish(db, world, "assessor2", levels=_severe)  # another assessor's results must not show
    login(world.emails["assessor"])
    html = client.get("/progress").get_data(as_text=True)
    text = _text(html)
    assert "My progress" in text and "Open round" in text
    assert "1 of 5" in text and "In progress" in text
    assert "Too few scores yet to judge any criterion" in text and "No weak spot" not in text
    n_criteria = len(world.criteria)
    # Only the one final sheet counts: exact on every criterion of that anchor, nothing of the others.
    assert f"100% ({n_criteria}/{n_criteria};" in text
    assert "Rationale for" not in html
    assert "Ben Second" not in html and world.emails["assessor2"] not in html
    # Level use against the key counts only the key of the anchor already scored.
    table = html.split("How often you use each level")[1].split("</table>")[0]
    counts = [int(x) for x in re.findall(r'<td class="num">(\d+)', table)]
    mine, keys = counts[0::2], counts[1::2]
    assert sum(mine) == sum(keys) == n_criteria
    assert keys == [world.keys[world.anchors[0]].count(v) for v in world.levels]
    assert f'href="/rounds/{world.round_id}/result"' not in html


def test_weak_spots_are_judged_against_the_scales_own_minimum(db, world):
    """The profile (the trainer's and My progress) judges each rubric's criteria against the exact
    agreement its scale asks for: 90% on two levels, 70% on four."""
    from calibration.services.profiles import assessor_profile

    round_id, anchors, keys, criteria = _binary_round(db, world)
    me = Member(world.ids["assessor"], world.program_a)
    for anchor, key in zip(anchors, keys, strict=True):
        submit_sheet(
            db,
            me,
            round_id=round_id,
            anchor_id=anchor,
            levels=dict(zip(criteria, key, strict=True)),
            notes="",
        )
    db.commit()
    submit(db, world, "assessor", 0)
    profile = assessor_profile(db, program_id=world.program_a, user_id=world.ids["assessor"])
    by_title = {s.title: s.min_exact for s in profile.sections}
    assert by_title == {"Implementing Equitable Practices": 0.9, "Analyzing Time": 0.7}


def test_a_two_level_qualification_shows_checks_that_cannot_fail_as_not_applicable(client, login, world, db):
    from calibration.models import CertificationStatus, Membership

    from ..conftest import post_form

    membership = db.scalar(
        select(Membership).where(
            Membership.user_id == world.ids["assessor"], Membership.program_id == world.program_a
        )
    )
    membership.certification_status = CertificationStatus.IN_TRAINING
    round_id, anchors, keys, criteria = _binary_round(db, world, kind=RoundKind.QUALIFICATION)
    login(world.emails["assessor"])
    for anchor, key in zip(anchors, keys, strict=True):
        data = {f"criterion_{c}": str(v) for c, v in zip(criteria, key, strict=True)} | {"notes": ""}
        assert post_form(client, f"/rounds/{round_id}/anchors/{anchor}", data).status_code == 302
    text = _text(client.get("/certification").get_data(as_text=True))
    assert "Attempt 1: Passed" in text
    assert re.search(r"Within one level: on a two-level scale [^.]*? Not applicable", text)
    assert re.search(r"Two or more levels off: on a two-level scale [^.]*? Not applicable", text)
    assert "adjacent" not in text.lower()
    result = _text(client.get(f"/rounds/{round_id}/result").get_data(as_text=True))
    assert "Passed" in result and "Not applicable" in result


def _next_link(html: str) -> tuple[str, str]:
    """The feedback page's primary way on (the target of the ``n`` shortcut): (href, words)."""
    found = re.search(r'id="next-anchor-top" href="([^"]+)">([^<]+)</a>', html)
    assert found is not None, "the feedback page has no way on"
    return found.group(1), found.group(2)


def test_the_last_feedback_of_a_counted_round_leads_to_the_round_result(client, login, world, db):
    """Item 1 joined: the way on (and the ``n`` shortcut) after the last anchor of a counted round is
    its result page; before the last anchor it is the next anchor."""
    login(world.emails["assessor"])
    base = f"/rounds/{world.round_id}/anchors"
    result_url = f"/rounds/{world.round_id}/result"
    for index, anchor in enumerate(world.anchors):
        resp = post_form(client, f"{base}/{anchor}", score_form(world, world.keys[anchor]))
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{base}/{anchor}/feedback")
        html = client.get(f"{base}/{anchor}/feedback").get_data(as_text=True)
        if index < len(world.anchors) - 1:
            assert _next_link(html) == (f"{base}/{world.anchors[index + 1]}", "Next anchor")
            assert result_url not in html
    assert _next_link(html) == (result_url, "See your round result")
    assert f'href="/rounds/{world.round_id}">Back to the round</a>' in html
    assert "press <kbd>n</kbd> to see your round result" in html
    assert client.get(result_url).status_code == 200


def test_the_last_feedback_of_a_practice_round_leads_back_to_the_round(client, login, world, db):
    program = db.get(Program, world.program_a)
    rubric = db.get(RubricVersion, db.get(Round, world.round_id).rubric_version_id)
    rnd = make_round(
        db,
        program,
        rubric,
        [db.get(Anchor, a) for a in world.anchors],
        [db.get(User, world.ids["assessor"])],
        name="Practice round",
        kind=RoundKind.PRACTICE,
    )
    db.commit()
    practice_id = rnd.id
    for anchor in world.anchors:
        submit_sheet(
            db,
            Member(world.ids["assessor"], world.program_a),
            round_id=practice_id,
            anchor_id=anchor,
            levels=dict(zip(world.criteria, world.keys[anchor], strict=True)),
            notes="",
        )
    db.commit()
    login(world.emails["assessor"])
    html = client.get(f"/rounds/{practice_id}/anchors/{world.anchors[-1]}/feedback").get_data(as_text=True)
    assert _next_link(html) == (f"/rounds/{practice_id}", "Back to the round")
    assert f"/rounds/{practice_id}/result" not in html and "See your round result" not in html
    assert client.get(f"/rounds/{practice_id}/result").status_code == 404


def test_a_two_level_result_stored_before_applicability_still_reads_not_applicable(client, login, world, db):
    """Gap B of issue 16: results stored before item 6 have no ``applicable`` key; on a two-level
    rubric their "within one level" and "two or more levels off" checks cannot fail, so they read
    "Not applicable", never "Met". The same stored checks on four levels stay as they were."""
    import json

    from calibration.models import QualificationOutcome, QualificationResult

    binary_round, *_ = _binary_round(db, world, kind=RoundKind.QUALIFICATION)
    old_checks = [
        {"name": "evidence", "passed": True, "message": "5 anchors and 20 criterion-scores meet the minimum"},
        {
            "name": "exact",
            "passed": True,
            "message": "Exact agreement 100% (20 of 20) meets the 90% required",
        },
        {
            "name": "adjacent",
            "passed": True,
            "message": "Within one level 100% (20 of 20) meets the 95% required",
        },
        {
            "name": "discrepant",
            "passed": True,
            "message": "0 scores two or more levels off (at most 1 allowed)",
        },
    ]
    for attempt, round_id in ((1, world.round_id), (2, binary_round)):
        db.add(
            QualificationResult(
                program_id=world.program_a,
                user_id=world.ids["assessor"],
                round_id=round_id,
                attempt=attempt,
                outcome=QualificationOutcome.PASS,
                message="Passed",
                checks_json=json.dumps(old_checks),
            )
        )
    db.commit()
    login(world.emails["assessor"])
    text = _text(client.get("/certification").get_data(as_text=True))
    two_levels = text[text.index("Attempt 2") : text.index("Attempt 1")]
    four_levels = text[text.index("Attempt 1") :]
    assert "Within one level 100% (20 of 20) meets the 95% required Not applicable" in two_levels
    assert "0 scores two or more levels off (at most 1 allowed) Not applicable" in two_levels
    assert "Exact agreement 100% (20 of 20) meets the 90% required Met" in two_levels
    assert "Not applicable" not in four_levels
    assert "Within one level 100% (20 of 20) meets the 95% required Met" in four_levels
