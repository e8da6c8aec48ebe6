"""Issue 14: one transaction boundary for web requests.

Only ``calibration/web/boundary.py`` commits or rolls back; no view catches a domain error itself
(``attempt`` refuses it), re-renders with its own 400-or-200 rule (``boundary.page``), or sends mail
after its commit (the boundary delivers what the transaction queued)."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "calibration" / "web"
BOUNDARY = WEB / "boundary.py"

FORBIDDEN = {
    "commits": re.compile(r"\.commit\("),
    "rolls back": re.compile(r"\.rollback\("),
    "catches a domain error": re.compile(
        r"except\s*\(?[^:\n]*\b(InvalidInput|DomainError|TokenInvalid|RoundNotOpen|AlreadyRecorded|"
        r"CoverageImpossible)\b"
    ),
    "has its own 400-or-200 rule": re.compile(r"\(\s*html\s*,\s*400\s*\)\s*if\b"),
    "sends mail after its commit": re.compile(
        r"\b(deliver_due|send_booking_mails|score_corrected|challenge_answered|challenge_raised)\("
    ),
}


def offences(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path == BOUNDARY:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            for what, pattern in FORBIDDEN.items():
                if pattern.search(code):
                    found.append(f"{path.relative_to(root)}:{number} {what}: {line.strip()}")
    return found


def test_the_patterns_find_what_they_look_for(tmp_path: Path) -> None:
    """The check itself can fail: each pattern finds a line written the old way."""
    sample = tmp_path / "view.py"
    sample.write_text(
        "db_session.commit()\n"
        "db_session.rollback()\n"
        "except InvalidInput as exc:\n"
        "except (InvalidInput, CoverageImpossible) as exc:\n"
        "return (html, 400) if page_error else html\n"
        "outbox.deliver_due(ids=queued)\n"
        "drift_mail.send_booking_mails(maker)\n"
        "review_mail.score_corrected(db_session, correction)\n"
        "flash('ok')  # db_session.commit() in a comment is fine\n",
        encoding="utf-8",
    )
    assert len(offences(tmp_path)) == 8


def test_trainer_views_go_through_the_boundary() -> None:
    assert offences(WEB / "trainer") == []


def test_no_view_commits_rolls_back_or_mails_outside_the_boundary() -> None:
    assert offences(WEB) == []
