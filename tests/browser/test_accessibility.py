"""Accessibility of the key pages in a real browser: axe-core (vendored, see vendor/README.md), the
browser's own accessibility tree, keyboard focus, layout at 1280 and 390 px, and screenshots
(test-artifacts/screenshots/) for a person to look at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from .support import (
    BINARY_ROUND,
    NARROW,
    WIDE,
    ax_group_names,
    ax_radios,
    contrast,
    describe,
    focus_ring,
    horizontal_overflow,
    log_in,
    released_anchor,
    run_axe,
    screenshot,
    tab_until,
    unlabelled_controls,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@dataclass(frozen=True)
class KeyPage:
    name: str
    who: str | None  # demo login, or None for an anonymous visitor
    path: Callable[..., str]
    status: int = 200


def _score_path(site) -> str:  # helen has scored nothing in the open round
    return f"/rounds/{site.open_round.id}/anchors/{site.open_round.anchors[0].id}"


def _feedback_path(site) -> str:  # daniel has finished the open round
    return f"/rounds/{site.open_round.id}/anchors/{site.open_round.anchors[0].id}/feedback"


def _profile_path(site) -> str:  # samuel drifts lenient: the profile has flags and weak spots to show
    from sqlalchemy import select

    from calibration.models import User

    with site.session() as session:
        user_id = session.scalar(select(User.id).where(User.email == "samuel@demo.test"))
    return f"/trainer/assessors/{user_id}"


def _flag_path(site, rule: str = "pass_rule") -> str:  # the demo's drift flag on Samuel (or a lean)
    from sqlalchemy import select

    from calibration.models import DriftFlag, FlagRule

    with site.session() as session:
        flag_id = session.scalar(
            select(DriftFlag.id).where(DriftFlag.rule == FlagRule(rule)).order_by(DriftFlag.id)
        )
    assert flag_id is not None, f"the demo should raise a {rule} flag"
    return f"/trainer/flags/{flag_id}"


def _session_path(site) -> str:  # the demo's upcoming session: its reschedule form is on the page
    from sqlalchemy import select

    from calibration.models import RecalibrationSession

    with site.session() as session:
        session_id = session.scalar(select(RecalibrationSession.id).order_by(RecalibrationSession.id))
    return f"/trainer/sessions/{session_id}"


def _challenge_path(site) -> str:  # Tom's open challenge to a spring key (demo)
    from sqlalchemy import select

    from calibration.models import KeyChallenge

    with site.session() as session:
        challenge_id = session.scalar(select(KeyChallenge.id).order_by(KeyChallenge.id))
    assert challenge_id is not None, "the demo should hold a key challenge"
    return f"/trainer/challenges/{challenge_id}"


def _corrected(site) -> tuple[int, int, int, int]:
    """(round, assessor, sheet, anchor) of the demo's corrected score (Maya, spring round)."""
    from sqlalchemy import select

    from calibration.models import ScoreCorrection, ScoreSheet

    with site.session() as session:
        row = session.execute(
            select(ScoreSheet.round_id, ScoreSheet.assessor_id, ScoreSheet.id, ScoreSheet.anchor_id)
            .join(ScoreCorrection, ScoreCorrection.sheet_id == ScoreSheet.id)
            .order_by(ScoreCorrection.id)
        ).first()
    assert row is not None, "the demo should correct one score"
    return tuple(row)  # type: ignore[return-value]


def _sheets_path(site) -> str:
    round_id, user_id, _, _ = _corrected(site)
    return f"/trainer/rounds/{round_id}/assessors/{user_id}/sheets"


def _correct_path(site) -> str:
    return f"/trainer/sheets/{_corrected(site)[2]}/correct"


def _corrected_feedback_path(site) -> str:
    round_id, _, _, anchor_id = _corrected(site)
    return f"/rounds/{round_id}/anchors/{anchor_id}/feedback"


DRAFT_ROUND = "Summer calibration: Analyzing Time (draft)"


def _draft_manage_path(site) -> str:
    """A draft calibration round for every certified demo assessor (made once, never opened): its page
    shows the anchor choice with who has read each key, and the fresh anchors left per level."""
    import datetime as dt

    from sqlalchemy import select

    from calibration.db import utcnow, write_intent
    from calibration.models import Membership, Program, Role, Round, RubricVersion, User
    from calibration.services import rounds
    from calibration.services.context import Member
    from calibration.services.demo import DEMO_SLUG

    with write_intent(), site.session() as session:
        found = session.scalar(select(Round.id).where(Round.name == DRAFT_ROUND))
        if found is None:
            program_id = session.scalar(select(Program.id).where(Program.slug == DEMO_SLUG))
            trainer = session.scalar(select(User.id).where(User.email == "trainer@demo.test"))
            rubric_id = session.scalar(
                select(RubricVersion.id).where(
                    RubricVersion.program_id == program_id, RubricVersion.slug == "analyzing-time"
                )
            )
            assessors = session.scalars(
                select(Membership.user_id).where(
                    Membership.program_id == program_id, Membership.certified_at.is_not(None)
                )
            ).all()
            now = utcnow()
            found = rounds.create_round(
                session,
                Member(trainer, program_id, Role.LEAD_TRAINER),
                program_id=program_id,
                name=DRAFT_ROUND,
                kind="calibration",
                rubric_version_id=rubric_id,
                opens_at=now + dt.timedelta(days=30),
                closes_at=now + dt.timedelta(days=44),
                pass_rule=rounds.default_pass_rule(session, program_id),
                assessor_ids=list(assessors),
            ).id
            session.commit()
    return f"/trainer/rounds/{found}/manage"


def _result_path(site, name: str = "") -> str:  # tom's finished rounds: read only by these tests
    from sqlalchemy import select

    from calibration.models import Round

    if not name:
        return f"/rounds/{site.past_round.id}/result"
    with site.session() as session:
        return f"/rounds/{session.scalar(select(Round.id).where(Round.name == name))}/result"


def _credential_path(site) -> str:
    """Grace's Open Badges credential (issued once, as "Get your credential" would): its public page."""
    import os

    from sqlalchemy import select

    from calibration.config import DEV_CREDENTIAL_KEY
    from calibration.db import utcnow, write_intent
    from calibration.models import Membership, User
    from calibration.services import credentials
    from calibration.services.context import Member

    settings = credentials.IssuerSettings(site.base, os.environ.get("CREDENTIAL_KEY", DEV_CREDENTIAL_KEY))
    with write_intent(), site.session() as session:
        user_id = session.scalar(select(User.id).where(User.email == "grace@demo.test"))
        program_id = session.scalar(select(Membership.program_id).where(Membership.user_id == user_id))
        found = credentials.current_for(session, program_id, user_id, now=utcnow())
        if found is None:
            found = credentials.get_credential(session, Member(user_id, program_id), settings)
            session.commit()
        return f"/credentials/{found.public_id}"


def _certification_with_credential_path(site) -> str:
    _credential_path(site)
    return "/certification"


def _noah_practice(site) -> tuple[int, int]:
    """Noah's (new@demo.test) demo practice round and its last anchor, with one try there that
    differed from the key on the first criterion (made once): tries remain, so the key is withheld."""
    from sqlalchemy import select

    from calibration.db import write_intent
    from calibration.models import (
        AnchorKeyEntry,
        AnchorKeyVersion,
        Assignment,
        Criterion,
        Membership,
        Role,
        Round,
        RoundAnchor,
        RoundKind,
        ScoreSheet,
        User,
    )
    from calibration.services.context import Member
    from calibration.services.scoring import submit_sheet

    with write_intent(), site.session() as session:
        noah, program_id = session.execute(
            select(User.id, Membership.program_id)
            .join(Membership, Membership.user_id == User.id)
            .where(User.email == "new@demo.test")
        ).one()
        round_id = session.scalar(
            select(Round.id)
            .join(Assignment, Assignment.round_id == Round.id)
            .where(Assignment.user_id == noah, Round.kind == RoundKind.PRACTICE)
        )
        anchor_id = session.scalar(
            select(RoundAnchor.anchor_id)
            .where(RoundAnchor.round_id == round_id)
            .order_by(RoundAnchor.position.desc())
            .limit(1)
        )
        done = session.scalar(
            select(ScoreSheet.id).where(ScoreSheet.round_id == round_id, ScoreSheet.assessor_id == noah)
        )
        if done is None:
            key = dict(
                session.execute(
                    select(AnchorKeyEntry.criterion_id, AnchorKeyEntry.level_value)
                    .join(AnchorKeyVersion, AnchorKeyVersion.id == AnchorKeyEntry.key_version_id)
                    .join(Criterion, Criterion.id == AnchorKeyEntry.criterion_id)
                    .where(AnchorKeyVersion.anchor_id == anchor_id)
                    .order_by(Criterion.position)
                ).all()
            )
            first = next(iter(key))
            key[first] = 1 - key[first]  # the demo's practice rubric has two levels, 0 and 1
            submit_sheet(
                session,
                Member(noah, program_id, Role.ASSESSOR),
                round_id=round_id,
                anchor_id=anchor_id,
                levels=key,
                notes="",
            )
            session.commit()
    return round_id, anchor_id


def _practice_differed_path(site) -> str:
    round_id, anchor_id = _noah_practice(site)
    return f"/rounds/{round_id}/anchors/{anchor_id}/feedback"


def _practice_try_path(site) -> str:
    return _practice_differed_path(site).removesuffix("/feedback") + "/try-again"


def _live_import_path(site, state: str) -> str:
    """A live scoring import of the demo program (made once): ``rejected`` with its error table,
    or ``queued`` (never started: the page shows its progress and refreshes itself)."""
    import io
    import tempfile

    from sqlalchemy import select

    from calibration.db import write_intent
    from calibration.models import ImportSource, OperationalImport, Program, RubricVersion
    from calibration.services import operational_csv, operational_import
    from calibration.services.context import SystemActor

    name = f"a11y-{state}.csv"
    with write_intent(), site.session() as session:
        found = session.scalar(select(OperationalImport.id).where(OperationalImport.filename == name))
        if found is not None:
            return f"/trainer/imports/{found}"
        program_id = session.scalar(select(Program.id).where(Program.slug == "demo"))
        version = session.scalar(
            select(RubricVersion).where(RubricVersion.program_id == program_id).order_by(RubricVersion.id)
        )
        content = (
            "submission_id,criterion,assessor,level,read,scored_at\n"
            f"S-1,{version.criteria[0].key},priya@demo.test,9,1,2026-03-01T10:00:00Z\n"
            "=S-2,nope,nobody@demo.test,1,1,2026-03-01T10:00:00Z\n"
        )
        spooled = operational_csv.spool(io.BytesIO(content.encode()), tempfile.mkdtemp(prefix="a11y-"))
        imp = operational_import.create_import(
            session, SystemActor(program_id), rubric_version_id=version.id, source=ImportSource.UPLOAD,
            filename=name, upload_path=spooled.path, content_sha256=spooled.sha256,
        )  # fmt: skip
        session.commit()
        import_id = imp.id
    if state == "rejected":
        operational_import.process_import(site._sessions, import_id)
    return f"/trainer/imports/{import_id}"


def _live_imports_path(site) -> str:
    _live_import_path(site, "rejected")
    _live_import_path(site, "queued")
    return "/trainer/imports"


KEY_PAGES = [
    KeyPage("login", None, lambda site: "/login"),
    KeyPage("dashboard", "priya@demo.test", lambda site: "/dashboard"),
    KeyPage("score", "helen@demo.test", _score_path),
    KeyPage("feedback", "daniel@demo.test", _feedback_path),
    KeyPage("trainer-rounds", "trainer@demo.test", lambda site: "/trainer/"),
    KeyPage("trainer-round", "trainer@demo.test", lambda site: f"/trainer/rounds/{site.past_round.id}"),
    KeyPage("trainer-overview", "trainer@demo.test", lambda site: "/trainer/overview"),
    KeyPage(
        "trainer-round-print", "trainer@demo.test", lambda site: f"/trainer/rounds/{site.past_round.id}/print"
    ),
    KeyPage("assessor-profile", "trainer@demo.test", _profile_path),
    KeyPage(
        "anchor-page", "trainer@demo.test", lambda site: f"/trainer/anchors/{site.past_round.anchors[0].id}"
    ),
    KeyPage("round-new", "trainer@demo.test", lambda site: "/trainer/rounds/new"),
    KeyPage("round-manage", "trainer@demo.test", lambda site: f"/trainer/rounds/{site.open_round.id}/manage"),
    KeyPage("round-manage-draft", "trainer@demo.test", _draft_manage_path),
    KeyPage("trainer-anchors", "trainer@demo.test", lambda site: "/trainer/anchors"),
    KeyPage("rubrics", "trainer@demo.test", lambda site: "/trainer/rubrics"),
    KeyPage("sessions", "samuel@demo.test", lambda site: "/sessions"),
    KeyPage("certification", "samuel@demo.test", lambda site: "/certification"),
    KeyPage("calendar", "samuel@demo.test", lambda site: "/calendar"),
    KeyPage("trainer-sessions", "trainer@demo.test", lambda site: "/trainer/sessions"),
    KeyPage("trainer-flags", "trainer@demo.test", lambda site: "/trainer/flags"),
    KeyPage("trainer-validity", "trainer@demo.test", lambda site: "/trainer/validity?status=nope"),
    KeyPage("trainer-session", "trainer@demo.test", _session_path),
    KeyPage("trainer-mail", "trainer@demo.test", lambda site: "/trainer/mail"),
    KeyPage("trainer-challenges", "trainer@demo.test", lambda site: "/trainer/challenges"),
    KeyPage("trainer-challenge", "trainer@demo.test", _challenge_path),
    KeyPage("trainer-flag", "trainer@demo.test", _flag_path),
    KeyPage("trainer-flag-lean", "trainer@demo.test", lambda site: _flag_path(site, "lean")),
    KeyPage("trainer-people", "trainer@demo.test", lambda site: "/trainer/people"),
    KeyPage(
        "trainer-people-filtered", "trainer@demo.test", lambda site: "/trainer/people?status=sleeping&q=a"
    ),
    KeyPage("trainer-settings", "trainer@demo.test", lambda site: "/trainer/settings"),
    KeyPage("trainer-audit", "admin@demo.test", lambda site: "/trainer/audit"),
    KeyPage("trainer-audit-filtered", "trainer@demo.test", lambda site: "/trainer/audit?action=login&from=x"),
    KeyPage("trainer-invitations", "trainer@demo.test", lambda site: "/trainer/invitations"),
    KeyPage("assessor-sheets", "trainer@demo.test", _sheets_path),
    KeyPage("sheet-correct", "trainer@demo.test", _correct_path),
    KeyPage("feedback-corrected", "maya@demo.test", _corrected_feedback_path),
    KeyPage("change-password", "grace@demo.test", lambda site: "/account/password"),
    KeyPage("account-time-zone", "grace@demo.test", lambda site: "/account/time-zone"),
    KeyPage("admin-people", "admin@demo.test", lambda site: "/admin/"),
    KeyPage("forgot-password", None, lambda site: "/password/forgot"),
    KeyPage("round-result", "tom@demo.test", _result_path),
    KeyPage(
        "round-result-binary",
        "tom@demo.test",
        lambda site: _result_path(site, BINARY_ROUND),
    ),
    KeyPage("my-progress", "tom@demo.test", lambda site: "/progress"),
    KeyPage("dashboard-latest-result", "daniel@demo.test", lambda site: "/dashboard"),
    KeyPage("round-finished", "daniel@demo.test", lambda site: f"/rounds/{site.open_round.id}"),
    KeyPage("error-404", "tom@demo.test", lambda site: "/rounds/999999", status=404),
    KeyPage("credential", None, _credential_path),
    KeyPage("credential-verify", None, lambda site: "/credentials/verify"),
    KeyPage("certification-credential", "grace@demo.test", _certification_with_credential_path),
    KeyPage("library", "daniel@demo.test", lambda site: "/library"),
    KeyPage("library-anchor", "daniel@demo.test", lambda site: f"/library/{released_anchor(site)}"),
    KeyPage(
        "anchor-release",
        "trainer@demo.test",
        lambda site: f"/trainer/anchors/{site.open_round.anchors[0].id}/release",
    ),
    # Issue 16 items 7-8: Noah (new@demo.test, in training) has demo practice and qualification.
    KeyPage("dashboard-path", "new@demo.test", lambda site: "/dashboard"),
    KeyPage("certification-in-training", "new@demo.test", lambda site: "/certification"),
    KeyPage("practice-differed", "new@demo.test", _practice_differed_path),
    KeyPage("practice-try", "new@demo.test", _practice_try_path),
    # Issue 18 item 4: live scoring imports.
    KeyPage("live-imports", "trainer@demo.test", _live_imports_path),
    KeyPage("live-import-rejected", "trainer@demo.test", lambda site: _live_import_path(site, "rejected")),
    KeyPage("live-import-running", "trainer@demo.test", lambda site: _live_import_path(site, "queued")),
]


def _open(new_page: Callable[..., Page], site, key_page: KeyPage) -> Page:
    page = new_page(WIDE)
    if key_page.who:
        log_in(page, site.base, key_page.who)
    response = page.goto(site.url(key_page.path(site)))
    assert response is not None and response.status == key_page.status, response and response.status
    return page


def _assert_axe_clean(page: Page, name: str) -> None:
    result = run_axe(page, name)
    blocking = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not blocking, f"axe found serious/critical problems on {name}:\n{describe(blocking)}"


@pytest.mark.parametrize("key_page", KEY_PAGES, ids=[p.name for p in KEY_PAGES])
def test_key_page_is_accessible_at_both_widths(
    new_page: Callable[..., Page], site, key_page: KeyPage
) -> None:
    page = _open(new_page, site, key_page)
    screenshot(page, f"{key_page.name}-1280")
    _assert_axe_clean(page, f"{key_page.name}-1280")
    assert not unlabelled_controls(page), "controls without an accessible name"
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert page.title().endswith("· Assessor Calibration")

    page.set_viewport_size(NARROW)
    assert not horizontal_overflow(page), f"content wider than 390 px: {horizontal_overflow(page)}"
    screenshot(page, f"{key_page.name}-390")
    _assert_axe_clean(page, f"{key_page.name}-390")


def test_rubric_levels_are_radio_groups_with_their_descriptors(new_page: Callable[..., Page], site) -> None:
    page = _open(new_page, site, KEY_PAGES[2])
    anchor = site.open_round.anchors[0]
    structure = page.evaluate(
        """() => Array.from(document.querySelectorAll('input[type=radio]')).map(r => {
            const fs = r.closest('fieldset');
            const legend = fs && fs.querySelector(':scope > legend');
            const ids = (r.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
            return {name: r.name, fieldset: !!fs, legend: legend ? legend.textContent.trim() : '',
                    sameNameInFieldset: fs ? fs.querySelectorAll(`input[type=radio]`).length ===
                        fs.querySelectorAll(`input[type=radio][name="${r.name}"]`).length : false,
                    label: r.labels.length, described: ids.map(id => document.getElementById(id))
                        .filter(Boolean).map(el => el.textContent.trim()).join(' ')};
        })"""
    )
    levels = site.open_round.levels
    assert len(structure) == len(anchor.criteria) * len(levels)
    for radio in structure:
        assert radio["fieldset"] and radio["legend"], radio
        assert radio["sameNameInFieldset"], radio
        assert radio["label"] == 1, radio
        assert radio["described"], f"no descriptor associated: {radio}"
    groups = ax_group_names(page)
    for criterion in anchor.criteria:
        assert any(criterion.title in g for g in groups), f"no named group for {criterion.title!r}: {groups}"
    radios = ax_radios(page)
    assert len(radios) == len(structure)
    for name, description in radios:
        assert name and description, (name, description)
        assert description not in name, f"descriptor read twice (in the name and the description): {name!r}"


def test_focus_is_visible_on_links_radios_and_buttons(new_page: Callable[..., Page], site) -> None:
    page = _open(new_page, site, KEY_PAGES[2])
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the skip link is off screen when focused"
    checked = {}
    for what, predicate in (
        ("link", lambda el: el.get("tag") == "a"),
        ("radio", lambda el: el.get("type") == "radio"),
        ("textarea", lambda el: el.get("tag") == "textarea"),
        ("button", lambda el: el.get("tag") == "button" and el.get("text") == "Review my scores"),
    ):
        tab_until(page, predicate)
        ring = focus_ring(page)
        checked[what] = ring
        assert ring["focusVisible"], f"{what}: not :focus-visible after Tab"
        assert ring["outlineStyle"] not in ("none", "hidden"), f"{what}: no outline {ring}"
        assert float(ring["outlineWidth"].removesuffix("px")) >= 2, f"{what}: outline too thin {ring}"
        ratio = contrast(ring["outlineColor"], ring["background"])
        assert ratio >= 3, f"{what}: focus outline contrast {ratio:.2f}:1 against its background {ring}"
    screenshot(page, "score-focus-1280")


def test_feedback_verdicts_are_told_in_words_not_only_colour(new_page: Callable[..., Page], site) -> None:
    page = _open(new_page, site, KEY_PAGES[3])
    verdicts = page.locator("table.feedback .verdict")
    expect(verdicts).to_have_count(len(site.open_round.anchors[0].criteria))
    for text in verdicts.all_inner_texts():
        words = text.replace("✓", "").replace("≈", "").replace("✗", "").strip()
        assert words.startswith(("Exact match", "Adjacent", "Off by")), text
    # The symbols are decoration; a screen reader hears the words.
    assert page.evaluate(
        "() => Array.from(document.querySelectorAll('.verdict > span')).every(s => s.getAttribute('aria-hidden') === 'true')"
    )


def test_scoring_layout_puts_evidence_beside_the_rubric_when_wide(
    new_page: Callable[..., Page], site
) -> None:
    page = _open(new_page, site, KEY_PAGES[2])
    evidence = page.locator(".score-layout .evidence")
    rubric = page.locator(".score-layout .rubric-form")
    ev, ru = evidence.bounding_box(), rubric.bounding_box()
    assert ev and ru
    assert ev["x"] + ev["width"] <= ru["x"] and abs(ev["y"] - ru["y"]) < 2, (ev, ru)
    page.set_viewport_size(NARROW)
    ev, ru = evidence.bounding_box(), rubric.bounding_box()
    assert ev and ru
    assert ru["y"] >= ev["y"] + ev["height"], f"not stacked at 390 px: {ev} {ru}"
    assert ru["width"] <= NARROW["width"] and ev["width"] <= NARROW["width"]


def test_checking_a_credential_file_is_accessible(new_page: Callable[..., Page], site) -> None:
    """The verifier's answers: a valid credential (its verdict and what was checked) and a file that
    is not JSON (a 400 with the reason beside the field), axe-clean at both widths."""
    public_id = _credential_path(site).rsplit("/", 1)[1]
    page = new_page(WIDE)
    document = page.request.get(site.url(f"/credentials/{public_id}.json")).body()
    for name, content, heading in (
        ("credential.json", document, "Verified: this credential is valid now"),
        ("notes.json", b"{not json", "Check a credential"),
    ):
        page.set_viewport_size(WIDE)
        page.goto(site.url("/credentials/verify"))
        page.set_input_files(
            "#file", files=[{"name": name, "mimeType": "application/json", "buffer": content}]
        )
        page.get_by_role("button", name="Check the credential").click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        label = "credential-checked" if content == document else "credential-not-json"
        if content != document:
            expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
            expect(page.locator("#file")).to_have_attribute("aria-invalid", "true")
        screenshot(page, f"{label}-1280")
        _assert_axe_clean(page, f"{label}-1280")
        page.set_viewport_size(NARROW)
        assert not horizontal_overflow(page), f"content wider than 390 px: {horizontal_overflow(page)}"
        _assert_axe_clean(page, f"{label}-390")
