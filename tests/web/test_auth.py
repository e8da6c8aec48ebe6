"""Login, logout, wrong password, CSRF, session handling."""

from __future__ import annotations

from sqlalchemy import func, select

from calibration.models import AuditEvent, AuthSession

from ..conftest import csrf_token, post_form


def test_login_page_renders(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert 'name="csrf_token"' in resp.get_data(as_text=True)


def test_login_success_goes_to_role_home_and_is_audited(client, login, world, db):
    resp = login(world.emails["assessor"])
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200
    assert (
        db.scalar(select(func.count()).where(AuditEvent.action == "login", AuditEvent.outcome == "ok")) == 1
    )


def test_trainer_lands_on_rounds(client, login, world):
    resp = login(world.emails["trainer"])
    assert resp.headers["Location"].endswith("/trainer/")


def test_wrong_password_is_refused_with_a_neutral_message(client, login, world, db):
    resp = login(world.emails["assessor"], "wrong-password")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "The email or password is not right." in page
    assert world.emails["assessor"] in page  # what was typed is kept
    unknown = login("nobody@nowhere.test", "whatever")
    assert "The email or password is not right." in unknown.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    failures = db.scalar(
        select(func.count()).where(AuditEvent.action == "login", AuditEvent.outcome == "failure")
    )
    assert failures == 2
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 0


def test_logout_ends_the_session_for_real(client, login, world, app):
    login(world.emails["assessor"])
    cookie = client.get_cookie("session").value
    resp = post_form(client, "/logout", {}, token_page="/dashboard")
    assert resp.status_code == 302
    assert client.get("/dashboard").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/dashboard").status_code == 302


def test_login_rotates_the_session_cookie(client, login, world):
    client.get("/login")
    before = client.get_cookie("session").value
    login(world.emails["assessor"])
    after = client.get_cookie("session").value
    assert before != after


def test_post_without_csrf_token_is_refused_and_writes_nothing(client, login, world, db):
    login(world.emails["assessor"])
    data = {f"criterion_{c}": "2" for c in world.criteria}
    resp = client.post(f"/rounds/{world.round_id}/anchors/{world.anchors[0]}", data=data)
    assert resp.status_code == 400
    assert "This form has expired" in resp.get_data(as_text=True)
    from calibration.models import ScoreSheet

    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_login_without_csrf_token_is_refused(client, world, db):
    resp = client.post("/login", data={"email": world.emails["assessor"], "password": "pw-for-tests"})
    assert resp.status_code == 400
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 0


def test_next_parameter_only_follows_local_paths(client, world):
    token = csrf_token(client)
    data = {"email": world.emails["assessor"], "password": "pw-for-tests", "csrf_token": token}
    resp = client.post("/login?next=https://evil.example/x", data=data)
    assert resp.headers["Location"].endswith("/dashboard")
    client2 = client.application.test_client()
    data["csrf_token"] = csrf_token(client2)
    resp = client2.post(f"/login?next=/rounds/{world.round_id}", data=data)
    assert resp.headers["Location"].endswith(f"/rounds/{world.round_id}")


def test_security_headers_and_no_store(client, login, world):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    login(world.emails["assessor"])
    assert client.get("/dashboard").headers["Cache-Control"] == "no-store"


def test_login_throttling_counts_failures_in_the_database(client, login, world, db, app):
    app.config["LOGIN_MAX_FAILURES"] = 3
    for _ in range(3):
        assert login(world.emails["assessor"], "wrong").status_code == 400
    resp = login(world.emails["assessor"])  # right password, but throttled now
    assert resp.status_code == 400
    assert "Too many failed attempts" in resp.get_data(as_text=True)
    # Another account is unaffected, and an unknown address is throttled the same way.
    other = client.application.test_client()
    ok = post_form(other, "/login", {"email": world.emails["assessor2"], "password": "pw-for-tests"})
    assert ok.status_code == 302
    for _ in range(3):
        login("ghost@nowhere.test", "x")
    assert "Too many failed attempts" in login("ghost@nowhere.test", "x").get_data(as_text=True)
    throttled = db.scalar(
        select(func.count()).where(AuditEvent.action == "login", AuditEvent.outcome == "throttled")
    )
    assert throttled == 2


def test_idle_and_absolute_timeouts_end_the_session(client, login, world, db):
    import datetime as dt

    from sqlalchemy import update

    login(world.emails["assessor"])
    assert client.get("/dashboard").status_code == 200
    from calibration.db import utcnow

    db.execute(update(AuthSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=61)))
    db.commit()
    assert client.get("/dashboard").status_code == 302
    login(world.emails["assessor"])
    db.execute(update(AuthSession).values(created_at=utcnow() - dt.timedelta(hours=13)))
    db.commit()
    assert client.get("/dashboard").status_code == 302


def test_disabled_user_loses_their_session(client, login, world, db):
    from calibration.models import User

    login(world.emails["assessor"])
    assert client.get("/dashboard").status_code == 200
    db.get(User, world.ids["assessor"]).is_active = False
    db.commit()
    assert client.get("/dashboard").status_code == 302


def test_logout_is_audited(client, login, world, db):
    login(world.emails["assessor"])
    post_form(client, "/logout", {}, token_page="/dashboard")
    assert db.scalar(select(func.count()).where(AuditEvent.action == "logout")) == 1


def _refusal(resp) -> str:  # type: ignore[no-untyped-def]
    import re

    found = re.search(r'role="alert">([^<]*)<', resp.get_data(as_text=True))
    assert found, "no refusal shown"
    return found.group(1)


def test_login_warns_before_the_pause_without_telling_whether_the_account_exists(client, login, world):
    """Issue 16: "2 attempts left" before logins are paused; the same words, at the same counts,
    for a registered address and for one nobody registered (no account enumeration)."""
    registered, unknown = world.emails["assessor"], "nobody-here@nowhere.test"
    seen: dict[str, list[str]] = {registered: [], unknown: []}
    for _ in range(6):
        for email in (registered, unknown):
            resp = login(email, "wrong-password")
            assert resp.status_code == 400
            seen[email].append(_refusal(resp))
    assert seen[registered] == seen[unknown]
    messages = seen[registered]
    assert messages[:2] == ["The email or password is not right."] * 2
    assert messages[2].endswith(
        "2 attempts left before logins with this email address are paused for 15 minutes."
    )
    assert messages[3].endswith(
        "1 attempt left before logins with this email address are paused for 15 minutes."
    )
    assert "That was the last attempt" in messages[4]
    assert messages[5].startswith("Too many failed attempts.")
    # The right password is refused now too, with the same words as for the unknown address.
    assert _refusal(login(registered)) == _refusal(login(unknown, "pw-for-tests"))
