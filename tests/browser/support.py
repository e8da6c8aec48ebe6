"""Helpers for the browser tests: demo data lookups, keyboard driving, axe-core, screenshots."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from calibration.db import utcnow
from calibration.models import (
    Anchor,
    AnchorKeyEntry,
    AnchorKeyVersion,
    Criterion,
    CriterionScore,
    Level,
    Round,
    RoundAnchor,
    RoundStatus,
    ScoreCorrection,
    ScoreSheet,
    User,
)
from calibration.services.demo import DEMO_PASSWORD, demo_round_names

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_REPORTS = ARTIFACTS / "axe"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"

# Who does what on the shared demo server (tests must not disturb each other's data):
#   maya     keyboard scoring of open-round anchor 1; invalid then valid submit of anchor 2
#   grace    wrong password, then login and logout; scores a practice and a calibration round of
#            her own by keyboard (test_round_flow)
#   trainer  reads rounds (read-only)
#   priya    dashboard; helen: scoring page (never submits); daniel: feedback; tom: 404 page (his
#            spring key challenge, from the demo, is only read)
#   trainer  corrects one of priya's open-round scores; priya then reads why (test_correction_journey)
#   trainer  also creates and opens a qualification round for Noah (new@demo.test), and invites
#            casey.morgan@demo.test, who then practises and qualifies (test_onboarding_journey)
#   noah     (in training, demo practice and qualification) is read by test_accessibility, which makes
#            one practice try of his last practice anchor that differs from the key
# The demo is seeded at DEMO_NOW (tests/browser/conftest.py), and its rounds are named after the month
# they opened in, so the names are known here before the server starts.
DEMO_NOW = utcnow().replace(microsecond=0)
ROUND_NAMES = demo_round_names(DEMO_NOW)
OPEN_ROUND = ROUND_NAMES["open"]  # Applying Improvement Science, open
PAST_ROUND = ROUND_NAMES["past"]  # Analyzing Time, closed (the spring anchors)
BINARY_ROUND = ROUND_NAMES["binary"]  # Implementing Equitable Practices (two levels), closed
FIRST_ROUND = ROUND_NAMES["first"]  # Analyzing Time, the oldest
PASSWORD = DEMO_PASSWORD
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


# --- demo data, read straight from the database the server uses ------------------------------


@dataclass(frozen=True)
class KeyedCriterion:
    id: int
    title: str
    key_level: int
    rationale: str


@dataclass(frozen=True)
class DemoAnchor:
    id: int
    title: str
    criteria: tuple[KeyedCriterion, ...]  # in rubric order, with this anchor's key


@dataclass(frozen=True)
class DemoRound:
    id: int
    name: str
    is_open: bool
    levels: tuple[int, ...]  # the rubric's level values, in order
    anchors: tuple[DemoAnchor, ...]  # in round order


def load_round(session: Session, name: str) -> DemoRound:
    rnd = session.scalars(select(Round).where(Round.name == name)).one()
    levels = tuple(
        session.scalars(
            select(Level.value)
            .where(Level.rubric_version_id == rnd.rubric_version_id)
            .order_by(Level.position)
        )
    )
    criteria = session.execute(
        select(Criterion.id, Criterion.title)
        .where(Criterion.rubric_version_id == rnd.rubric_version_id)
        .order_by(Criterion.position)
    ).all()
    anchors = []
    for anchor_id, title in session.execute(
        select(Anchor.id, Anchor.title)
        .join(RoundAnchor, RoundAnchor.anchor_id == Anchor.id)
        .where(RoundAnchor.round_id == rnd.id)
        .order_by(RoundAnchor.position)
    ):
        key = {
            entry.criterion_id: entry
            for entry in session.scalars(
                select(AnchorKeyEntry)
                .join(AnchorKeyVersion, AnchorKeyVersion.id == AnchorKeyEntry.key_version_id)
                .where(AnchorKeyVersion.anchor_id == anchor_id, AnchorKeyVersion.version == 1)
            )
        }
        anchors.append(
            DemoAnchor(
                anchor_id,
                title,
                tuple(
                    KeyedCriterion(cid, ctitle, key[cid].level_value, key[cid].rationale)
                    for cid, ctitle in criteria
                ),
            )
        )
    return DemoRound(rnd.id, rnd.name, rnd.status == RoundStatus.OPEN, levels, tuple(anchors))


def agreement_by_assessor(session: Session, rnd: DemoRound) -> dict[str, tuple[float, float]]:
    """(exact, exact-or-adjacent) share of each assessor's criterion scores, counted independently
    of the app's statistics code: difference in level positions against the key each sheet used.
    A corrected score counts at its latest correction's level."""
    position = {value: i for i, value in enumerate(rnd.levels)}
    corrected = dict(
        session.execute(
            select(ScoreCorrection.criterion_score_id, ScoreCorrection.level_value)
            .where(ScoreCorrection.round_id == rnd.id)
            .order_by(ScoreCorrection.seq)
        ).all()
    )
    rows = session.execute(
        select(User.name, CriterionScore.id, CriterionScore.level_value, AnchorKeyEntry.level_value)
        .join(ScoreSheet, ScoreSheet.assessor_id == User.id)
        .join(CriterionScore, CriterionScore.sheet_id == ScoreSheet.id)
        .join(
            AnchorKeyEntry,
            (AnchorKeyEntry.key_version_id == ScoreSheet.key_version_id)
            & (AnchorKeyEntry.criterion_id == CriterionScore.criterion_id),
        )
        .where(ScoreSheet.round_id == rnd.id)
    ).all()
    tallies: dict[str, list[int]] = {}
    for name, score_id, submitted, key in rows:
        level = corrected.get(score_id, submitted)
        d = abs(position[level] - position[key])
        t = tallies.setdefault(name, [0, 0, 0])
        t[0] += d == 0
        t[1] += d <= 1
        t[2] += 1
    return {name: (t[0] / t[2], t[1] / t[2]) for name, t in tallies.items()}


# --- driving the browser -----------------------------------------------------------------------


def log_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    """Log in as a person would with a keyboard: the email field has autofocus."""
    page.goto(base + "/login")
    expect(page.get_by_label("Email")).to_be_focused()  # autofocus; typing before it would be lost
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def active_element(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            return el ? {tag: el.tagName.toLowerCase(), type: el.type || null, name: el.name || null,
                         value: el.value ?? null, text: (el.textContent || '').trim(), id: el.id || null}
                      : {};
        }"""
    )


def tab_until(page: Any, predicate: Any, *, limit: int = 80, key: str = "Tab") -> dict[str, Any]:
    """Press Tab until the focused element satisfies ``predicate`` (a dict -> bool)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        el = active_element(page)
        if predicate(el):
            return el
        seen.append(f"{el.get('tag')}[{el.get('name') or el.get('text', '')[:30]}]")
    raise AssertionError(f"focus never reached the target with {key}; visited: {seen}")


# --- screenshots and layout ----------------------------------------------------------------------


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page: Any) -> list[str]:
    """Elements whose right edge is past the viewport (empty when nothing overflows the page)."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            const out = [];
            if (document.documentElement.scrollWidth > width) out.push(`page scrollWidth ${document.documentElement.scrollWidth} > ${width}`);
            for (const el of document.body.querySelectorAll('*')) {
                // Content inside a horizontally scrollable box (wide tables) is fine.
                let p = el.parentElement, clipped = false;
                while (p && p !== document.body) {
                    const s = getComputedStyle(p);
                    if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) { clipped = true; break; }
                    p = p.parentElement;
                }
                if (clipped || el.closest('.visually-hidden, .skip-link')) continue;
                const r = el.getBoundingClientRect();
                if (r.width && r.right > width + 1) out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(r.right)}`);
            }
            return out.slice(0, 10);
        }"""
    )


# --- accessibility -------------------------------------------------------------------------------

_AXE_SOURCE: str | None = None
IMPACT_ORDER = ("critical", "serious", "moderate", "minor")


def run_axe(page: Any, name: str) -> dict[str, Any]:
    """Run axe-core on the page (injected through DevTools, so the app's strict CSP stays on).

    Writes the violations to test-artifacts/axe/<name>.json, prints a summary and returns
    ``{"counts": {impact: n}, "violations": [...]}``."""
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = AXE_JS.read_text(encoding="utf-8")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_AXE_SOURCE + "\n;undefined")
    violations = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, tags: v.tags,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                          summary: n.failureSummary}))}));
        }"""
    )
    counts = {impact: 0 for impact in IMPACT_ORDER}
    for v in violations:
        counts[v["impact"] or "minor"] += len(v["nodes"])
    AXE_REPORTS.mkdir(parents=True, exist_ok=True)
    (AXE_REPORTS / f"{name}.json").write_text(
        json.dumps({"page": name, "url": page.url, "counts": counts, "violations": violations}, indent=2),
        encoding="utf-8",
    )
    print(f"axe {name}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    for v in violations:
        print(f"  [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} node(s))")
        for node in v["nodes"][:3]:
            print(f"      {node['target']}")
    return {"counts": counts, "violations": violations}


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['summary']}")
    return "\n".join(lines)


_CONTROL_ROLES = {"textbox", "radio", "checkbox", "button", "combobox", "searchbox", "spinbutton", "link"}


def ax_nodes(page: Any) -> list[dict[str, Any]]:
    """The browser's own accessibility tree (what a screen reader gets), through DevTools."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    return [n for n in nodes if not n.get("ignored")]


def _value(node: dict[str, Any], key: str) -> str:
    return str((node.get(key) or {}).get("value") or "").strip()


def unlabelled_controls(page: Any) -> list[str]:
    """Controls (form fields, buttons, links) whose accessible name is empty."""
    out = []
    for node in ax_nodes(page):
        role = _value(node, "role")
        if role in _CONTROL_ROLES and not _value(node, "name"):
            out.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
    return out


def ax_radios(page: Any) -> list[tuple[str, str]]:
    """(name, description) of every radio button in the accessibility tree."""
    return [
        (_value(n, "name"), _value(n, "description")) for n in ax_nodes(page) if _value(n, "role") == "radio"
    ]


def ax_group_names(page: Any) -> list[str]:
    return [_value(n, "name") for n in ax_nodes(page) if _value(n, "role") == "group"]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def parse_rgb(css: str) -> tuple[float, float, float]:
    match = re.match(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)", css)
    assert match, f"unexpected colour {css!r}"
    return (float(match.group(1)), float(match.group(2)), float(match.group(3)))


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(parse_rgb(a)), _luminance(parse_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def focus_ring(page: Any) -> dict[str, str]:
    """Computed focus indicator of the focused element, and the page background behind it."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const s = getComputedStyle(el);
            let bg = 'rgb(255, 255, 255)';
            for (let p = el.parentElement; p; p = p.parentElement) {
                const c = getComputedStyle(p).backgroundColor;
                if (c && c !== 'transparent' && !c.startsWith('rgba(0, 0, 0, 0')) { bg = c; break; }
            }
            return {focusVisible: el.matches(':focus-visible'), outlineStyle: s.outlineStyle,
                    outlineWidth: s.outlineWidth, outlineColor: s.outlineColor, boxShadow: s.boxShadow,
                    background: bg};
        }"""
    )


# --- the anchor library (issue 16, item 9) -------------------------------------------------------


def releasable_anchors(site: Any) -> list[int]:
    """Spring-round calibration anchors (every demo assessor has already read their keys) that are
    in no unfinished round and not yet released: the ones browser tests may release."""
    from calibration.models import AnchorPurpose

    with site.session() as session:
        unfinished = (
            select(RoundAnchor.anchor_id)
            .join(Round, Round.id == RoundAnchor.round_id)
            .where(Round.status != RoundStatus.CLOSED)
        )
        return list(
            session.scalars(
                select(Anchor.id)
                .join(RoundAnchor, RoundAnchor.anchor_id == Anchor.id)
                .where(
                    RoundAnchor.round_id == site.past_round.id,
                    Anchor.purpose == AnchorPurpose.CALIBRATION,
                    Anchor.released_at.is_(None),
                    Anchor.id.not_in(unfinished),
                )
                .order_by(RoundAnchor.position)
            )
        )


def released_anchor(site: Any) -> int:
    """A demo anchor in the library: one a test already released, else one released now (by the
    demo's lead trainer, through the service)."""
    from calibration.db import write_intent
    from calibration.models import Role
    from calibration.services import library
    from calibration.services.context import Member

    with site.session() as session:
        found = session.scalar(select(Anchor.id).where(Anchor.released_at.is_not(None)).order_by(Anchor.id))
    if found is not None:
        return int(found)
    anchor_id = releasable_anchors(site)[-1]
    with write_intent(), site.session() as session:
        anchor = session.get(Anchor, anchor_id)
        assert anchor is not None
        trainer = session.scalar(select(User.id).where(User.email == "trainer@demo.test"))
        library.release_anchor(
            session, Member(trainer, anchor.program_id, Role.LEAD_TRAINER), program_id=anchor.program_id,
            anchor_id=anchor_id,
        )  # fmt: skip
        session.commit()
    return anchor_id
