"""Blindness, by crawling: an assessor who has not finalised sees no key, rationale or colleague's data.

Unique markers are seeded into the key rationales and key-change reasons of every anchor (both
programs), into other assessors' notes, into the reasons of corrections to their scores and into
their key challenges and the answers. Logged in as an assessor, the test crawls everything
reachable: every link, redirect and form target found on the pages, every GET route in the URL
map filled with the world's ids (rounds, anchors, attachments, reports, CSV/JSON exports), and the
mail the assessor received. No marker may appear anywhere, whatever the status code. It also
crawls twice, before and after colleagues score and keys change, and requires identical pages:
so not even a count of others' sheets can leak. After the assessor's own final sheet on one
anchor, exactly that anchor's key opens up.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from sqlalchemy import select

from calibration.models import AnchorAttachment, Role
from calibration.services.anchors import change_key
from calibration.services.context import Member, SystemActor

from ..conftest import post_form
from ..factories import World, score_form, submit
from .test_security_headers import get_urls

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
_LINK = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']([^"']+)["']""", re.I)
_CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*(")|(value=")[^"]*("[^>]*name="csrf_token")')
MAX_PAGES = 600

# ---------------------------------------------------------------------------------------- mail hook
# Mail an assessor can read is part of what they can reach. The mail feature registers a source
# here: a callable (app, db, world, who) -> iterable of (label, text) for every message sent to
# that person (subject, text and HTML bodies). The crawl scans all of them for the markers.
MailSource = Callable[[Any, Any, World, str], Iterable[tuple[str, str]]]
MAIL_SOURCES: list[MailSource] = []


class _Captured:
    """A mailer that keeps every message (the app's mailer is swapped for it during the crawl)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, mail: Any) -> None:
        self.sent.append(mail)


def every_mail_an_assessor_can_get(app: Any, db: Any, world: World, who: str) -> Iterable[tuple[str, str]]:
    """Trigger each mail the product sends an assessor, and return them: a password reset, the
    certification expiry reminder, a recalibration session booking with its .ics, and the
    session and deadline reminders."""
    import datetime as dt

    from calibration.db import get_db, utcnow, write_intent
    from calibration.models import Membership
    from calibration.notify.bookings import send_booking_mails
    from calibration.services import sessions

    captured = _Captured()
    original = app.extensions["calibration.mailer"]
    app.extensions["calibration.mailer"] = captured
    try:
        email, user_id = world.emails[who], world.ids[who]
        client = app.test_client()
        assert post_form(client, "/password/forgot", {"email": email}).status_code in (200, 302)
        # The link is mailed by the job the request enqueued (run right after its commit here).
        member = db.scalar(
            select(Membership).where(Membership.user_id == user_id, Membership.program_id == world.program_a)
        )
        member.certification_expires_at = utcnow() + dt.timedelta(days=10)
        db.commit()
        runner = app.test_cli_runner()
        assert runner.invoke(args=["send-reminders"]).exit_code == 0
        trainer = Member(world.ids["trainer"], world.program_a)
        with write_intent():
            sessions.create_session(
                db,
                trainer,
                program_id=world.program_a,
                title="Recalibration",
                # 20 hours ahead at any time of day (a fixed 09:00 tomorrow is over a day away
                # after 13:00 UTC and gets no session reminder)
                date=(utcnow() + dt.timedelta(hours=20)).date(),
                time=(utcnow() + dt.timedelta(hours=20)).time().replace(second=0, microsecond=0),
                timezone="UTC",
                duration_minutes=60,
                location="Room 1",
                trainer_id=world.ids["trainer"],
                capacity=4,
            )
            booking = sessions.book(
                db,
                trainer,
                program_id=world.program_a,
                user_id=user_id,
                recalibration_id=None,
                window_days=14,
            )
            db.commit()
        assert booking is not None
        with app.app_context():
            send_booking_mails(get_db(app).sessionmaker, user_ids=[user_id])
        assert runner.invoke(args=["evaluate-drift"]).exit_code == 0
    finally:
        app.extensions["calibration.mailer"] = original
    mine = [m for m in captured.sent if m.to == email]
    assert len(mine) >= 3, [m.subject for m in captured.sent]  # reset, expiry reminder, invitation
    for i, m in enumerate(mine):
        yield (
            f"mail {i}: {m.subject}",
            "\n".join([m.subject, m.text, m.html, *(a.data.decode() for a in m.attachments)]),
        )


MAIL_SOURCES.append(every_mail_an_assessor_can_get)


def review_mail_to_an_assessor(app: Any, db: Any, world: World, who: str) -> Iterable[tuple[str, str]]:
    """The review notices, through the pages: once ``who`` has a final sheet, a trainer corrects one
    of its scores, ``who`` questions its key and the trainer answers. (Before any final sheet there
    is nothing to review, and no such mail.)"""
    from calibration.models import ScoreSheet

    db.rollback()
    sheet = db.scalar(
        select(ScoreSheet).where(ScoreSheet.assessor_id == world.ids[who]).order_by(ScoreSheet.id).limit(1)
    )
    if sheet is None:
        return []
    captured = _Captured()
    original = app.extensions["calibration.mailer"]
    app.extensions["calibration.mailer"] = captured
    try:
        trainer = _client_as(app, world.emails["trainer"])
        level = next(v for v in world.levels if v != sheet.scores[0].level_value)
        data = {
            "criterion": str(world.criteria[0]),
            "level": str(level),
            "reason": "Reported slip, corrected.",
        }
        assert post_form(trainer, f"/trainer/sheets/{sheet.id}/correct", data).status_code == 302
        me = _client_as(app, world.emails[who])
        base = f"/rounds/{sheet.round_id}/anchors/{sheet.anchor_id}/feedback"
        asked = {"criterion": str(world.criteria[2]), "argument": "I read the evidence differently here."}
        assert post_form(me, base + "/challenge", asked, token_page=base).status_code == 302
        db.rollback()
        from calibration.models import KeyChallenge

        challenge_id = db.scalar(select(KeyChallenge.id).where(KeyChallenge.sheet_id == sheet.id))
        answer = {"outcome": "key_stands", "response": "The key stands: the rubric asks for more."}
        url = f"/trainer/challenges/{challenge_id}/answer"
        assert post_form(trainer, url, answer, token_page="/trainer/").status_code == 302
    finally:
        app.extensions["calibration.mailer"] = original
    mine = [m for m in captured.sent if m.to == world.emails[who]]
    assert len(mine) == 2, [m.subject for m in captured.sent]  # corrected, answered
    return [
        (f"review mail {i}: {m.subject}", "\n".join([m.subject, m.text, m.html])) for i, m in enumerate(mine)
    ]


MAIL_SOURCES.append(review_mail_to_an_assessor)


def reachable_mail(app: Any, db: Any, world: World, who: str) -> dict[str, str]:
    """Every mail ``who`` received, as label -> text (empty until a mail source is registered)."""
    return {label: text for source in MAIL_SOURCES for label, text in source(app, db, world, who)}


# ------------------------------------------------------------------------------------------ markers
def key_marker(anchor_id: int) -> str:
    return f"KEYMARK{anchor_id}X"


def reason_marker(anchor_id: int) -> str:
    return f"KEYREASON{anchor_id}X"


def peer_marker(anchor_id: int) -> str:
    return f"PEERNOTE{anchor_id}X"


def seed_keys(db: Any, world: World) -> None:
    """A second key version for every anchor of both programs, with marked rationales and reasons."""
    db.rollback()  # a fresh transaction: requests have written since (SQLite would refuse the upgrade)
    for program_id, trainer, anchors in (
        (world.program_a, "trainer", world.anchors),
        (world.program_b, "trainer_b", [world.anchor_b]),
    ):
        actor = Member(world.ids[trainer], program_id, Role.LEAD_TRAINER)
        for anchor_id in anchors:
            levels = world.keys.get(anchor_id, [2] * len(world.criteria))
            criteria = world.criteria if program_id == world.program_a else _criteria_of(db, anchor_id)
            change_key(
                db,
                actor,
                program_id=program_id,
                anchor_id=anchor_id,
                levels=dict(zip(criteria, levels, strict=True)),
                rationales={c: f"{key_marker(anchor_id)} criterion {c}" for c in criteria},
                reason=reason_marker(anchor_id),
                base_version=1,
            )
    db.commit()


def _criteria_of(db: Any, anchor_id: int) -> list[int]:
    from calibration.models import Anchor, Criterion

    rubric_id = db.get(Anchor, anchor_id).rubric_version_id
    return list(
        db.scalars(
            select(Criterion.id).where(Criterion.rubric_version_id == rubric_id).order_by(Criterion.position)
        )
    )


def correction_marker(anchor_id: int) -> str:
    return f"FIXMARK{anchor_id}X"


def challenge_marker(anchor_id: int) -> str:
    return f"ASKMARK{anchor_id}X"


def seed_peer_sheets(db: Any, world: World) -> None:
    """The colleague (same round) and the other program's assessor score everything, with marked
    notes; a trainer corrects one of the colleague's scores on each anchor, with a marked reason; the
    colleague questions the key on each anchor and the trainer answers (both marked)."""
    from calibration.services.challenges import answer, raise_challenge
    from calibration.services.corrections import correct_score

    db.rollback()
    for i, anchor_id in enumerate(world.anchors):
        levels = [min(v + 1, max(world.levels)) for v in world.keys[anchor_id]]
        sheet = submit(db, world, "assessor2", i, levels=levels, notes=peer_marker(anchor_id))
        correct_score(
            db,
            Member(world.ids["trainer"], world.program_a),
            program_id=world.program_a,
            sheet_id=sheet.id,
            criterion_id=world.criteria[0],
            level_value=next(v for v in world.levels if v != levels[0]),
            reason=f"{correction_marker(anchor_id)} slip reported by the assessor",
        )
        asked = raise_challenge(
            db,
            Member(world.ids["assessor2"], world.program_a),
            round_id=world.round_id,
            anchor_id=anchor_id,
            criterion_id=world.criteria[1],
            argument=f"{challenge_marker(anchor_id)} the key misreads the evidence on this criterion",
        )
        if i % 2:  # half of them answered, half still open
            answer(
                db,
                Member(world.ids["trainer"], world.program_a),
                program_id=world.program_a,
                challenge_id=asked.id,
                outcome="key_stands",
                response=f"{challenge_marker(anchor_id)} answer: the key reads the evidence as intended",
            )
        db.commit()
    from calibration.services.scoring import submit_sheet

    submit_sheet(
        db,
        Member(world.ids["assessor_b"], world.program_b),
        round_id=world.round_b,
        anchor_id=world.anchor_b,
        levels=dict.fromkeys(_criteria_of(db, world.anchor_b), 2),
        notes=peer_marker(world.anchor_b),
    )
    db.commit()


def forbidden_markers(world: World, *, revealed: Iterable[int] = ()) -> list[str]:
    """Every marker the assessor must not see; the key of a ``revealed`` anchor (own sheet final) is fine."""
    every = [*world.anchors, world.anchor_b]
    markers = [peer_marker(a) for a in every]
    markers += [correction_marker(a) for a in world.anchors]  # a colleague's corrections, never shown
    markers += [challenge_marker(a) for a in world.anchors]  # a colleague's key challenges and answers
    markers += [key_marker(a) for a in every if a not in set(revealed)]
    markers += [reason_marker(a) for a in every if a not in set(revealed)]
    # The first key version's rationales (tests/factories.py) are keys too.
    markers += ["Rationale for"] if not revealed else []
    return markers


# -------------------------------------------------------------------------------------------- crawl
def seeds(app: Any, world: World, attachment_id: int) -> list[str]:
    """Every GET route with the world's ids, plus each round x anchor x attachment combination."""
    urls = ["/", "/dashboard"] + [url for _endpoint, url in get_urls(app, world)]
    for round_id in (world.round_id, world.round_b):
        urls.append(f"/rounds/{round_id}")
        for anchor_id in [*world.anchors, world.anchor_b]:
            base = f"/rounds/{round_id}/anchors/{anchor_id}"
            urls += [base, f"{base}/feedback", f"{base}/attachments/{attachment_id}"]
    for url in list(urls):
        urls += [url + "?key=current", url + "?format=json"]
    return urls


def _local(url: str, current: str) -> str | None:
    url = html.unescape(urldefrag(url)[0].strip())
    if not url or url.startswith(("mailto:", "javascript:", "data:", "#")):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return (
            parts.path + (f"?{parts.query}" if parts.query else "") if parts.netloc == "localhost" else None
        )
    if not url.startswith("/"):
        url = current.rsplit("/", 1)[0] + "/" + url
    return url


def crawl(client: Any, start: list[str]) -> dict[str, tuple[int, str]]:
    """GET every URL reachable from ``start`` (links, redirects, form targets): url -> (status, text)."""
    pages: dict[str, tuple[int, str]] = {}
    queue = list(dict.fromkeys(start))
    while queue:
        url = queue.pop(0)
        if url in pages or url.startswith("/logout"):
            continue
        assert len(pages) < MAX_PAGES, "crawl did not converge"
        with client.get(url) as resp:
            raw = resp.get_data()
            location = resp.headers.get("Location")
            status, mimetype = resp.status_code, resp.mimetype
        # Binary files are searched byte for byte (latin-1 keeps every byte).
        text = (
            raw.decode("utf-8")
            if mimetype.startswith(("text/", "application/json"))
            else raw.decode("latin-1")
        )
        pages[url] = (status, text)
        found = [location] if location else []
        if mimetype == "text/html":
            found += _LINK.findall(text)
        for link in found:
            local = _local(link, url)
            if local and local not in pages:
                queue.append(local)
    return pages


def leaks(pages: dict[str, tuple[int, str]], mail: dict[str, str], markers: list[str]) -> list[str]:
    out = [f"{url} ({status}): {m}" for url, (status, text) in pages.items() for m in markers if m in text]
    out += [f"mail {label}: {m}" for label, text in mail.items() for m in markers if m in text]
    return out


def _normalised(text: str) -> str:
    return _CSRF_VALUE.sub(r"\1\2\3\4", text)


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    return {**app_config, "ATTACHMENT_DIR": str(tmp_path / "attachments")}


def _client_as(app: Any, email: str) -> Any:
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": "pw-for-tests"}).status_code == 302
    return client


def test_crawl_finds_no_key_rationale_or_colleague_data_before_final(app, world, db):
    trainer = _client_as(app, world.emails["trainer"])
    url = f"/trainer/anchors/{world.anchors[0]}/attachments"
    assert post_form(trainer, url, {"file": (io.BytesIO(PDF), "evidence.pdf")}).status_code == 302
    db.rollback()
    attachment_id = db.scalar(select(AnchorAttachment.id))
    assessor = _client_as(app, world.emails["assessor"])
    start = seeds(app, world, attachment_id)

    # 1. Nothing scored by anyone yet: the baseline.
    before = crawl(assessor, start)
    assert sum(1 for status, _ in before.values() if status == 200) >= 10, "the crawl reached too little"
    reached = {u for u, (s, _) in before.items() if s == 200}
    assert f"/rounds/{world.round_id}/anchors/{world.anchors[0]}/attachments/{attachment_id}" in reached
    assert f"/rounds/{world.round_id}/anchors/{world.anchors[-1]}" in reached

    # 2. Keys change (marked) and colleagues score everything (marked notes).
    seed_keys(db, world)
    seed_peer_sheets(db, world)
    after = crawl(assessor, start)
    markers = forbidden_markers(world)
    assert leaks(after, reachable_mail(app, db, world, "assessor"), markers) == []
    assert leaks(before, {}, markers) == []
    # Same pages, same bytes: not even a count of others' sheets or the key version shows.
    changed = [
        u
        for u in sorted(set(before) | set(after))
        if u not in before
        or u not in after
        or before[u][0] != after[u][0]
        or _normalised(before[u][1]) != _normalised(after[u][1])
    ]
    assert changed == []


def test_after_own_final_sheet_only_that_anchors_key_opens(app, world, db):
    seed_keys(db, world)
    seed_peer_sheets(db, world)
    assessor = _client_as(app, world.emails["assessor"])
    first = world.anchors[0]
    resp = post_form(
        assessor, f"/rounds/{world.round_id}/anchors/{first}", score_form(world, world.keys[first])
    )
    assert resp.status_code == 302
    pages = crawl(assessor, seeds(app, world, attachment_id=1))
    feedback = pages[f"/rounds/{world.round_id}/anchors/{first}/feedback"]
    assert feedback[0] == 200 and key_marker(first) in feedback[1]  # the marker check below is not vacuous
    markers = forbidden_markers(world, revealed=[first])
    assert leaks(pages, reachable_mail(app, db, world, "assessor"), markers) == []


def test_a_recalibration_waiting_for_anchors_reveals_no_key_levels(app, world, db):
    """The assessor's recalibration waits for anchors (none unseen is left): what they can reach says
    so, but never the shortfall, which describes the key levels of anchors they will be served."""
    from calibration.services import anchor_waits, recalibration

    seed_keys(db, world)
    seed_peer_sheets(db, world)
    started = recalibration.start(
        db, SystemActor(world.program_a), program_id=world.program_a, user_id=world.ids["assessor"],
        flags=[], settings={"recalibration_window_days": 14, "recalibration_round_days": 14, "min_anchors": 5},
    )  # fmt: skip
    assert started.waiting is not None
    shortfall = anchor_waits.shortfall_lines(db, started.waiting)
    db.commit()
    assert shortfall
    assessor = _client_as(app, world.emails["assessor"])
    pages = crawl(assessor, seeds(app, world, attachment_id=1))
    status, page = pages["/certification"]
    assert status == 200 and "waiting for anchors" in page
    markers = [*forbidden_markers(world), *shortfall, "never seen are available", "Try again now"]
    assert leaks(pages, reachable_mail(app, db, world, "assessor"), markers) == []


def test_result_and_progress_pages_open_only_what_own_final_sheets_revealed(app, world, db):
    """Issue 16: My progress and the round result are crawled with the rest. Part-way through the
    round, progress counts only the scored anchor and no result exists; once every sheet is final the
    result opens, and still no colleague's data, and no key the assessor has not scored against."""
    seed_keys(db, world)
    seed_peer_sheets(db, world)
    assessor = _client_as(app, world.emails["assessor"])
    first = world.anchors[0]
    post_form(assessor, f"/rounds/{world.round_id}/anchors/{first}", score_form(world, world.keys[first]))
    result = f"/rounds/{world.round_id}/result"
    pages = crawl(assessor, seeds(app, world, attachment_id=1))
    assert pages["/progress"][0] == 200 and "Open round" in pages["/progress"][1]
    assert pages[result][0] == 404
    assert leaks(pages, {}, forbidden_markers(world, revealed=[first])) == []
    for anchor in world.anchors[1:]:
        post_form(
            assessor, f"/rounds/{world.round_id}/anchors/{anchor}", score_form(world, world.keys[anchor])
        )
    pages = crawl(assessor, seeds(app, world, attachment_id=1))
    assert pages[result][0] == 200 and "Outcome:" in pages[result][1]
    markers = forbidden_markers(world, revealed=world.anchors)
    assert markers and leaks(pages, {}, markers) == []


def test_credential_pages_carry_no_key_rationale_or_colleague_data(app, world, db):
    """The assessor's Open Badges credential (issue 19): My certification, the credential's public
    page and JSON, the issuer profile, the status list and the verifier, crawled as the assessor
    and anonymously, show no key, rationale or colleague's data, and never the assessor's address.
    Its evidence summarises a round in which only anchor 0 is final for the assessor."""
    import datetime as dt
    import json

    from calibration.db import utcnow
    from calibration.models import IssuedCredential, Membership, QualificationOutcome, QualificationResult

    seed_keys(db, world)
    seed_peer_sheets(db, world)
    submit(db, world, "assessor", 0)
    member = db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor"]))
    member.certified_at, member.certification_expires_at = utcnow(), utcnow() + dt.timedelta(days=100)
    db.add(
        QualificationResult(
            program_id=world.program_a, user_id=world.ids["assessor"], round_id=world.round_id, attempt=1,
            outcome=QualificationOutcome.PASS, message="passed", checks_json="[]", decided_at=utcnow(),
        )
    )  # fmt: skip
    db.commit()
    assessor = _client_as(app, world.emails["assessor"])
    assert (
        post_form(assessor, "/certification/credential", {}, token_page="/certification").status_code == 302
    )
    db.rollback()
    row = db.scalar(select(IssuedCredential))
    assert row is not None and json.loads(row.document)["evidence"], "the credential should carry evidence"
    public = [
        f"/credentials/{row.public_id}",
        f"/credentials/{row.public_id}.json",
        "/credentials/issuers/alpha",
        "/credentials/status/alpha",
        "/credentials/verify",
    ]
    markers = forbidden_markers(world, revealed=[world.anchors[0]])
    mine = crawl(assessor, ["/certification", *public])
    assert all(mine[url][0] == 200 for url in public), {u: mine[u][0] for u in public}
    assert leaks(mine, {}, markers) == []
    # Signed in, the page header names the assessor; the credential itself never does.
    assert leaks({u: mine[u] for u in public}, {}, [world.emails["assessor"]]) == []
    markers += [world.emails["assessor"], "Asha Assessor"]
    anonymous = crawl(app.test_client(), public)
    assert all(anonymous[url][0] == 200 for url in public)
    assert leaks(anonymous, {}, markers) == []


def test_the_library_opens_only_released_keys_and_only_to_certified_assessors(app, world, db):
    """Issue 16, item 9: a released anchor's key is in the library (the crawl finds it from the
    menu); an unreleased anchor's key never is, nor a released one back in an unfinished round; an
    uncertified assessor reaches none of it."""
    from calibration.models import Anchor, CertificationStatus, Membership, Program, RubricVersion
    from calibration.services import library

    seed_keys(db, world)
    seed_peer_sheets(db, world)
    program, rubric = db.get(Program, world.program_a), db.get(RubricVersion, world.rubric_id)
    from ..factories import make_anchor

    # Not "Rationale for ..." (the world's first key versions, a forbidden marker): this key is open.
    shelf = make_anchor(
        db, program, rubric, title="Shelf", key_levels=world.keys[world.anchors[0]], rationale_prefix="Why"
    )
    kept = make_anchor(db, program, rubric, title="Kept back", key_levels=world.keys[world.anchors[1]])
    for anchor in (shelf, kept):
        for entry in anchor.key_versions[0].entries:
            entry.rationale = f"{key_marker(anchor.id)} {entry.rationale}"
    db.commit()
    library.release_anchor(
        db, Member(world.ids["trainer"], world.program_a), program_id=world.program_a, anchor_id=shelf.id
    )
    db.commit()
    assessor = _client_as(app, world.emails["assessor"])
    pages = crawl(assessor, seeds(app, world, attachment_id=1))
    status, page = pages[f"/library/{shelf.id}"]
    assert status == 200 and key_marker(shelf.id) in page  # reached by links, and not vacuous
    assert leaks(pages, {}, [*forbidden_markers(world), key_marker(kept.id)]) == []

    member = db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor2"]))
    member.certification_status = CertificationStatus.IN_TRAINING
    db.commit()
    newcomer = _client_as(app, world.emails["assessor2"])
    pages = crawl(newcomer, [*seeds(app, world, attachment_id=1), "/library", f"/library/{shelf.id}"])
    assert pages["/library"][0] == 404 and pages[f"/library/{shelf.id}"][0] == 404
    assert leaks(pages, {}, [key_marker(shelf.id), key_marker(kept.id)]) == []
    assert db.get(Anchor, shelf.id).released_at is not None


def test_a_practice_key_stays_hidden_while_tries_remain(app, world, db):
    """Issue 16 item 7: after a practice try that differed, with tries left, the assessor is told
    which criteria differed and nothing else: no key level, rationale or key-change reason of that
    anchor anywhere they can reach (the try-again page included). After the last try it opens."""
    from calibration.models import Anchor, Program, RoundKind, RubricVersion, User

    from ..factories import make_round

    seed_keys(db, world)
    seed_peer_sheets(db, world)
    rnd = make_round(
        db,
        db.get(Program, world.program_a),
        db.get(RubricVersion, world.rubric_id),
        [db.get(Anchor, a) for a in world.anchors],
        [db.get(User, world.ids["assessor"])],
        name="Practice",
        kind=RoundKind.PRACTICE,
    )
    rnd.practice_tries = 2
    db.commit()
    practice_id, first = rnd.id, world.anchors[0]
    wrong = [next(v for v in world.levels if v != world.keys[first][0]), *world.keys[first][1:]]
    assessor = _client_as(app, world.emails["assessor"])
    base = f"/rounds/{practice_id}/anchors/{first}"
    assert post_form(assessor, base, score_form(world, wrong)).status_code == 302
    start = [
        *seeds(app, world, attachment_id=1),
        f"/rounds/{practice_id}",
        f"{base}/feedback",
        f"{base}/try-again",
    ]
    pages = crawl(assessor, start)
    assert pages[f"{base}/try-again"][0] == 200 and "Differs from the key" in pages[f"{base}/feedback"][1]
    assert leaks(pages, {}, forbidden_markers(world)) == []

    assert post_form(assessor, f"{base}/try-again", score_form(world, wrong)).status_code == 302
    pages = crawl(assessor, start)
    assert key_marker(first) in pages[f"{base}/feedback"][1]  # the last try: the key is shown
    assert leaks(pages, {}, forbidden_markers(world, revealed=[first])) == []


def test_no_assessor_page_shows_a_validity_item_or_says_validity(app, world, db):
    """Issue 18: validity items seeded into live work are never marked to the assessor. With items
    assigned, answered (leniently, so a validity-stream flag exists) and expired, nothing the assessor
    can reach names them: no anchor title, evidence, rationale or platform reference, and not the word
    "validity" (pages the crawl asks for by a URL that says it, the API and the trainer's page, are
    refusals)."""
    import datetime as dt

    from calibration.db import utcnow
    from calibration.services import drift, validity

    from ..drift.test_validity_stream import answer_items
    from ..factories_validity import fresh_anchors, set_validity_rules

    anchors = fresh_anchors(db, world, 12, title="Seeded live anchor")
    set_validity_rules(db, world.program_a, max_per_week=100, live_items_between=0)
    answer_items(db, world, "assessor", anchors[:10], lenient=True, start=utcnow() - dt.timedelta(days=20))
    validity.assign(db, world.program_a, assessor=world.emails["assessor"], external_ref="unanswered-ref")
    validity.assign(
        db, world.program_a, assessor=world.emails["assessor"], external_ref="expired-ref",
        now=utcnow() - dt.timedelta(days=30),
    )  # fmt: skip
    db.commit()
    validity.expire_due(db)
    flags = drift.evaluate_program(db, world.program_a).flags
    db.commit()
    assert any(f.stream.value == "validity" and f.user_id == world.ids["assessor"] for f in flags)

    assessor = _client_as(app, world.emails["assessor"])
    pages = crawl(assessor, seeds(app, world, 999_999))
    assert sum(1 for status, _ in pages.values() if status == 200) >= 10, "the crawl reached too little"
    markers = [
        "Seeded live anchor",
        "Live evidence",
        "Live rationale",
        "unanswered-ref",
        "expired-ref",
        "assessor-",
    ]
    found = []
    for url, (status, text) in pages.items():
        if "validity" in url.lower():
            assert status in (401, 403, 404), url
            continue
        found += [f"{url}: {m}" for m in [*markers, "validity"] if m.lower() in text.lower()]
    found += [
        f"mail {label}"
        for label, text in reachable_mail(app, db, world, "assessor").items()
        if "validity" in text.lower()
    ]
    assert found == []
