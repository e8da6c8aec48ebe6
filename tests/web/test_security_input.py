"""NUL and other control characters are refused with a clear message on both databases.

PostgreSQL cannot store NUL in text (it raises), SQLite stores it silently: the app must refuse
first, the same way on both. Besides targeted tests of the main text fields, every POST form
reachable by each role is fuzzed field by field; nothing may answer 5xx, and afterwards no text
column anywhere holds a control character.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import String, Text, func, select

from calibration.db import Base
from calibration.models import (
    Anchor,
    AuditEvent,
    DriftFlag,
    FlagRule,
    FlagStatus,
    Recalibration,
    Round,
    ScoreSheet,
)

from ..conftest import csrf_token, post_form
from ..factories import score_form
from .test_security_headers import get_urls

BAD = "bad\x00value\x1b\x7f\x85end"
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MESSAGE = "control character"


class FormParser(HTMLParser):
    """The POST forms of a page: action, and (name, kind, value) of every field a browser would send."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._textarea: list[Any] | None = None
        self._select: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "fields": [],
            }
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in {"radio", "checkbox"} and "checked" not in a:
                if kind == "radio" and not any(f[0] == a["name"] for f in self._form["fields"]):
                    self._form["fields"].append([a["name"], kind, a.get("value", "on")])
                return
            if kind == "radio":  # the checked one wins over the first one
                self._form["fields"] = [f for f in self._form["fields"] if f[0] != a["name"]]
            self._form["fields"].append([a["name"], kind, a.get("value", "")])
        elif tag == "button" and a.get("name"):
            self._form["fields"].append([a["name"], "submit", a.get("value", "")])
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], "textarea", ""]
            self._form["fields"].append(self._textarea)
        elif tag == "select" and a.get("name"):
            self._select = [a["name"], "select", None]
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None and (self._select[2] is None or "selected" in a):
            self._select[2] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            if self._form["method"] == "post":
                self.forms.append(self._form)
            self._form = None


def post_forms(html: str, page: str) -> list[dict[str, Any]]:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        form["action"] = form["action"] or page
    return parser.forms


def control_characters_stored(db: Any) -> list[str]:
    """Every text cell in the database that holds a control character other than tab/CR/LF."""
    found = []
    db.rollback()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in db.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str) and FORBIDDEN.search(value):
                    found.append(f"{table.name}.{column.name}={value!r}")
    return found


def _as(app: Any, email: str) -> Any:
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": "pw-for-tests"}).status_code == 302
    return client


# ------------------------------------------------------------------------------ targeted fields
def test_notes_with_control_characters_are_refused_and_typed_text_kept(client, login, world, db):
    login(world.emails["assessor"])
    url = f"/rounds/{world.round_id}/anchors/{world.anchors[0]}"
    for bad in ("a\x00b", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85", "ff\x0c", "vt\x0b"):
        resp = post_form(client, url, score_form(world, world.keys[world.anchors[0]], notes=f"kept {bad}"))
        assert resp.status_code == 400, repr(bad)
        page = resp.get_data(as_text=True)
        assert MESSAGE in page, repr(bad)
        assert "kept" in page
    db.rollback()
    assert db.scalar(select(ScoreSheet.id)) is None
    # Tab, CR and LF are ordinary in multi-line text.
    multi = "line one\r\n\tindented line two\nthree"
    resp = post_form(client, url, score_form(world, world.keys[world.anchors[0]], notes=multi))
    assert resp.status_code == 302
    db.rollback()
    assert db.scalar(select(ScoreSheet.notes)) == multi


def test_login_email_with_nul_is_a_form_error_not_a_database_error(client, world, db):
    for email in ("assessor\x00@a.test", "a\x1b@a.test", world.emails["assessor"] + "\x00"):
        token = csrf_token(client)
        resp = client.post("/login", data={"csrf_token": token, "email": email, "password": "pw-for-tests"})
        assert resp.status_code == 400, repr(email)
        assert MESSAGE in resp.get_data(as_text=True), repr(email)
    # A NUL in the password is simply a wrong password (it is never stored).
    token = csrf_token(client)
    resp = client.post(
        "/login", data={"csrf_token": token, "email": world.emails["assessor"], "password": "pw\x00x"}
    )
    assert resp.status_code == 400
    assert control_characters_stored(db) == []


def test_trainer_single_line_fields_refuse_tab_and_newline_too(app, world, db):
    trainer = _as(app, world.emails["trainer"])
    for title in ("tab\there", "new\nline", "nul\x00"):
        resp = post_form(
            trainer,
            "/trainer/anchors/new",
            {
                "rubric_version_id": str(world.rubric_id),
                "purpose": "practice",
                "title": title,
                "evidence_md": "Typed evidence\n\twith a tab",
                "save": "Save",
            },
        )
        if "\x00" in title:
            assert resp.status_code == 400 and MESSAGE in resp.get_data(as_text=True)
        else:
            # Browsers never put a tab or line break in a one-line field; either refused or flattened.
            assert resp.status_code in (302, 400), repr(title)
    db.rollback()
    assert not any(FORBIDDEN.search(t) for t in db.scalars(select(Anchor.title)))
    assert not any(FORBIDDEN.search(n) for n in db.scalars(select(Round.name)))


def test_query_and_path_parameters_with_control_characters_never_fail(app, world):
    for who in ("assessor", "trainer", "admin"):
        client = _as(app, world.emails[who])
        for _endpoint, url in get_urls(app, world):
            for query in ("?key=%00", "?table=%00x", "?next=%00&q=%1b", "?x=%c2%85"):
                resp = client.get(url + query)
                assert resp.status_code < 500, (who, url + query, resp.status_code)
                resp.close()
        assert client.get("/rounds/1%00").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get("/login?next=%00/dashboard").status_code == 200


# ----------------------------------------------------------------------------- every form fuzzed
@pytest.mark.parametrize("who", ["assessor", "trainer", "admin"])
def test_every_form_field_fuzzed_with_control_characters(app, world, db, who):
    client = _as(app, world.emails[who])
    forms: dict[tuple[str, tuple[str, ...]], tuple[str, dict[str, Any]]] = {}
    pages = [url for _e, url in get_urls(app, world)] + ["/login"]
    for page in pages:
        resp = client.get(page)
        if resp.status_code == 200 and resp.mimetype == "text/html":
            for form in post_forms(resp.get_data(as_text=True), page):
                names = tuple(sorted(f[0] for f in form["fields"]))
                forms.setdefault((form["action"], names), (page, form))
        resp.close()
    assert forms, "no forms found"
    fuzzed = 0
    for (action, _names), (page, form) in sorted(forms.items()):
        if action.endswith("/logout"):
            continue
        fields = [f for f in form["fields"] if f[1] not in {"file", "submit"} and f[0] != "csrf_token"]
        buttons = [f for f in form["fields"] if f[1] == "submit"][:1]
        for target in fields:
            data: dict[str, Any] = {}
            for name, kind, value in form["fields"]:
                if kind == "submit" and [name, kind, value] not in buttons:
                    continue
                data.setdefault(name, []).append(value or "")
            data[target[0]] = [BAD]
            data["csrf_token"] = csrf_token(client, page)
            # Forms can change state (a round opened, a key saved): that is fine, failing is not.
            resp = client.post(action, data=data)
            body = resp.get_data(as_text=True)
            assert resp.status_code < 500, (who, action, target[0], resp.status_code)
            assert "Traceback" not in body
            fuzzed += 1
    assert fuzzed >= (1 if who == "assessor" else 10), fuzzed
    assert control_characters_stored(db) == []


# ------------------------------------------------------- forms that only data or a first step reach
#: Each field of the flag review forms gets these; every one is invalid for every field there (the
#: notes refuse control characters and more than their maximum, the hidden ``acknowledged`` takes
#: only "yes"), so each post must be refused: 400, a clear message, nothing written.
FLAG_BAD = (BAD, "y" * 20_000, "\x00")


def _open_flags(db: Any, world: Any) -> tuple[int, int]:
    """An open drift flag of one assessor and an open cohort flag in program A (the world has no
    flags, so the generic crawl above never reaches the flag page's forms)."""
    own = DriftFlag(
        program_id=world.program_a,
        user_id=world.ids["assessor"],
        round_id=world.round_id,
        rule=FlagRule.OWN_DRIFT,
        status=FlagStatus.OPEN,
        statistic="self-starting CUSUM",
        summary="Moved from their own level.",
        evidence_hash="fuzz-own",
    )
    cohort = DriftFlag(
        program_id=world.program_a,
        user_id=None,
        round_id=world.round_id,
        rule=FlagRule.COHORT,
        status=FlagStatus.OPEN,
        statistic="Krippendorff's alpha of the cohort in the round, judged on its interval",
        value=0.41,
        threshold=0.667,
        window_json=json.dumps([world.round_id]),
        evidence_json=json.dumps({"round": world.round_id, "alphas": [0.41], "triggers": ["below_minimum"]}),
        summary="Cohort alpha 0.410: its whole interval is below the minimum.",
        evidence_hash="fuzz-cohort",
    )
    db.add_all([own, cohort])
    db.commit()
    return int(own.id), int(cohort.id)


def _written(db: Any) -> tuple[Any, ...]:
    """What a flag review would change: the flags' states, recalibrations and the audit trail."""
    db.rollback()
    return (
        tuple(db.execute(select(DriftFlag.id, DriftFlag.status).order_by(DriftFlag.id)).all()),
        db.scalar(select(func.count(Recalibration.id))),
        db.scalar(select(func.count(AuditEvent.id))),
    )


def _refused_field_by_field(client: Any, page: str, form: dict[str, Any]) -> list[str]:
    """Post ``form`` once per field and bad value; every post must be refused with a message and
    must keep what was typed in the notes. Returns the fields fuzzed."""
    tokens = [f[0] for f in form["fields"] if f[0].endswith("csrf_token")]  # "confirm-csrf_token"
    fields = [f for f in form["fields"] if f[1] not in {"file", "submit"} and f[0] not in tokens]
    for target in fields:
        for bad in FLAG_BAD:
            data: dict[str, Any] = {name: [value or ""] for name, kind, value in form["fields"]}
            data[target[0]] = [bad]
            if target[1] != "textarea":  # the note keeps what was typed next to a bad hidden field
                data.update({n: ["typed note"] for n, kind, _v in form["fields"] if kind == "textarea"})
            token = csrf_token(client, page)
            data.update({name: [token] for name in tokens or ["csrf_token"]})
            resp = client.post(form["action"], data=data)
            body = resp.get_data(as_text=True)
            where = (form["action"], target[0], bad[:12])
            assert resp.status_code == 400, (*where, resp.status_code)
            assert "nothing was changed" in body or "Nothing has changed yet" in body, where
            assert "Traceback" not in body
            if target[1] != "textarea":
                assert "typed note" in body, where
    return [f[0] for f in fields]


def test_flag_review_and_cohort_confirm_forms_refuse_bad_input_and_write_nothing(app, world, db):
    own, cohort = _open_flags(db, world)
    trainer = _as(app, world.emails["trainer"])
    before = _written(db)
    fuzzed: dict[str, list[str]] = {}
    for flag_id in (own, cohort):
        page = f"/trainer/flags/{flag_id}"
        resp = trainer.get(page)
        assert resp.status_code == 200
        forms = {f["action"]: f for f in post_forms(resp.get_data(as_text=True), page)}
        for action in (f"{page}/confirm", f"{page}/dismiss"):
            assert action in forms, (action, sorted(forms))
            fuzzed[action] = _refused_field_by_field(trainer, page, forms[action])
    assert fuzzed[f"/trainer/flags/{own}/dismiss"] == ["dismiss-reason"]
    assert "confirm-reason" in fuzzed[f"/trainer/flags/{cohort}/confirm"]

    # The cohort flag's second step (who recalibration will start for) is reached only by a post.
    page = f"/trainer/flags/{cohort}"
    step = post_form(trainer, f"{page}/confirm", {"confirm-reason": "first press"}, token_page=page)
    html = step.get_data(as_text=True)
    assert step.status_code == 200 and 'id="cohort-warning"' in html
    [form] = [f for f in post_forms(html, page) if f["action"] == f"{page}/confirm"]
    assert {name for name, _k, _v in form["fields"]} >= {"confirm-reason", "confirm-acknowledged"}
    fuzzed["step"] = _refused_field_by_field(trainer, page, form)
    assert set(fuzzed["step"]) == {"confirm-reason", "confirm-acknowledged"}

    assert _written(db) == before
    assert control_characters_stored(db) == []
