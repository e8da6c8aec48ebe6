"""NUL and other control characters are refused with a clear message on both databases.

PostgreSQL cannot store NUL in text (it raises), SQLite stores it silently: the app must refuse
first, the same way on both. Besides targeted tests of the main text fields, every POST form
reachable by each role is fuzzed field by field; nothing may answer 5xx, and afterwards no text
column anywhere holds a control character.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import String, Text, select

from calibration.db import Base
from calibration.models import Anchor, Round, ScoreSheet

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
