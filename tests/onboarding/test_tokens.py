"""Invitation and reset links: single use, expiry (controllable clock), withdrawn, tampered; only a
hash is stored; the reset request answers the same whether or not the address exists."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from calibration.models import AccountToken, AuthSession, CertificationStatus, Membership, TokenPurpose, User

from ..conftest import post_form
from ..factories import PASSWORD
from ..factories_onboarding import Clock
from .conftest import link_path

NEW = "token.person@example.test"
GOOD = {"name": "Tess Token", "password": "correct horse battery", "confirm": "correct horse battery"}


def as_trainer(app: Any, world: Any) -> Any:
    client = app.test_client()
    post_form(client, "/login", {"email": world.emails["trainer"], "password": PASSWORD})
    return client


def invite(app: Any, world: Any, sink: Any, address: str = NEW) -> tuple[Any, str]:
    trainer = as_trainer(app, world)
    assert post_form(trainer, "/trainer/invitations", {"emails": address}).status_code == 302
    return trainer, link_path(sink.to(address)[-1])


def membership(db: Any, email: str) -> Membership:
    db.rollback()
    return db.scalar(select(Membership).join(User, User.id == Membership.user_id).where(User.email == email))


def test_only_the_hash_is_stored_and_the_link_works_once(app, world, db, smtp_sink):
    _, path = invite(app, world, smtp_sink)
    token = path.rsplit("/", 1)[1]
    db.rollback()
    row = db.scalar(select(AccountToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert (row.expires_at - row.created_at) == dt.timedelta(days=7)

    client = app.test_client()
    assert post_form(client, path, GOOD).status_code == 302
    for method in ("get", "post"):
        again = app.test_client()
        resp = again.get(path) if method == "get" else post_form(again, path, GOOD, token_page="/login")
        assert resp.status_code == 400
        assert "already been used" in resp.get_data(as_text=True)
    assert membership(db, NEW).certification_status == CertificationStatus.IN_TRAINING


def test_expired_link(app, world, db, smtp_sink, monkeypatch):
    clock = Clock(monkeypatch)
    _, path = invite(app, world, smtp_sink)
    clock.advance(dt.timedelta(days=7, seconds=1))
    client = app.test_client()
    for resp in (client.get(path), post_form(client, path, GOOD, token_page="/login")):
        assert resp.status_code == 400 and "This link has expired" in resp.get_data(as_text=True)
    assert membership(db, NEW).certification_status == CertificationStatus.INVITED
    clock.advance(dt.timedelta(days=-1))  # within the 7 days it works
    assert app.test_client().get(path).status_code == 200


def test_withdrawn_and_resent_links(app, world, db, smtp_sink):
    trainer, first = invite(app, world, smtp_sink)
    uid = membership(db, NEW).user_id
    assert (
        post_form(
            trainer, f"/trainer/invitations/{uid}/revoke", {}, token_page="/trainer/invitations"
        ).status_code
        == 302
    )
    resp = app.test_client().get(first)
    assert resp.status_code == 400 and "withdrawn" in resp.get_data(as_text=True)

    assert (
        post_form(
            trainer, f"/trainer/invitations/{uid}/resend", {}, token_page="/trainer/invitations"
        ).status_code
        == 302
    )
    second = link_path(smtp_sink.to(NEW)[-1])
    assert second != first
    assert app.test_client().get(first).status_code == 400
    assert post_form(app.test_client(), second, GOOD).status_code == 302
    # Accepted: nothing left to resend or withdraw.
    resp = post_form(trainer, f"/trainer/invitations/{uid}/resend", {}, token_page="/trainer/invitations")
    assert "already accepted" in trainer.get(resp.headers["Location"]).get_data(as_text=True)
    db.rollback()
    actions = db.scalars(select(func.count()).select_from(AccountToken)).one()
    assert actions == 2


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[:10],
        lambda t: t + "x" * 200,
        lambda t: "",
    ],
    ids=["changed", "truncated", "oversized", "empty"],
)
def test_tampered_link(app, world, db, smtp_sink, mangle):
    _, path = invite(app, world, smtp_sink)
    token = path.rsplit("/", 1)[1]
    bad = f"/invitation/{mangle(token)}"
    resp = app.test_client().get(bad)
    if not mangle(token):
        assert resp.status_code == 404  # no token at all is not a route
        return
    assert resp.status_code == 400 and "This link is not valid" in resp.get_data(as_text=True)
    resp = post_form(app.test_client(), bad, GOOD, token_page="/login")
    assert resp.status_code == 400 and "This link is not valid" in resp.get_data(as_text=True)
    assert membership(db, NEW).certification_status == CertificationStatus.INVITED


def test_bad_input_keeps_the_name_and_writes_nothing(app, world, db, smtp_sink):
    _, path = invite(app, world, smtp_sink)
    client = app.test_client()
    resp = post_form(client, path, {"name": "Tess Typed", "password": "short", "confirm": "short"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "at least 10 characters" in body and 'value="Tess Typed"' in body
    resp = post_form(client, path, {**GOOD, "confirm": "something else entirely"})
    assert resp.status_code == 400 and "not the same" in resp.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(AccountToken.used_at)) is None
    assert membership(db, NEW).certification_status == CertificationStatus.INVITED
    assert db.scalar(select(User.password_hash).where(User.email == NEW)) is None


def test_reset_reply_is_the_same_for_unknown_addresses(app, world, db, smtp_sink):
    client = app.test_client()
    known = post_form(client, "/password/forgot", {"email": world.emails["assessor"]})
    unknown = post_form(client, "/password/forgot", {"email": "nobody@nowhere.test"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert [m["To"] for m in smtp_sink.messages] == [world.emails["assessor"]]


def test_reset_link_sets_a_new_password_once_and_ends_sessions(app, world, db, smtp_sink, monkeypatch):
    logged_in = app.test_client()
    post_form(logged_in, "/login", {"email": world.emails["assessor"], "password": PASSWORD})
    assert logged_in.get("/dashboard").status_code == 200
    post_form(app.test_client(), "/password/forgot", {"email": world.emails["assessor"]})
    path = link_path(smtp_sink.to(world.emails["assessor"])[-1])
    assert path.startswith("/password/reset/")

    client = app.test_client()
    short = post_form(client, path, {"password": "short", "confirm": "short"})
    assert short.status_code == 400
    new = "a brand new passphrase"
    resp = post_form(client, path, {"password": new, "confirm": new})
    assert resp.status_code == 302
    assert logged_in.get("/dashboard").status_code == 302  # the old session ended
    assert (
        post_form(
            app.test_client(), "/login", {"email": world.emails["assessor"], "password": new}
        ).status_code
        == 302
    )
    assert "already been used" in app.test_client().get(path).get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).where(AuthSession.end_reason == "password_reset")) >= 1

    # Expiry applies to reset links too (PASSWORD_RESET_HOURS, 24 by default).
    clock = Clock(monkeypatch)
    post_form(app.test_client(), "/password/forgot", {"email": world.emails["assessor"]})
    later = link_path(smtp_sink.to(world.emails["assessor"])[-1])
    clock.advance(dt.timedelta(hours=24, seconds=1))
    assert "expired" in app.test_client().get(later).get_data(as_text=True)


def test_invited_person_without_password_gets_no_reset_mail(app, world, db, smtp_sink):
    invite(app, world, smtp_sink)
    smtp_sink.clear()
    resp = post_form(app.test_client(), "/password/forgot", {"email": NEW})
    assert resp.status_code == 200 and smtp_sink.messages == []
    db.rollback()
    assert db.scalar(select(func.count()).where(AccountToken.purpose == TokenPurpose.PASSWORD_RESET)) == 0


def test_reset_mail_is_sent_after_the_reply(app_config, world, db, smtp_sink, monkeypatch, tmp_path):
    """The reply for a known address does not wait for the mail server: no timing tells it apart.
    With the real queue (as deployed) the request only enqueues the ``mail.deliver`` job; a worker
    sends the mail afterwards (here: ``run_due_jobs``). A request that talked to the held server
    would wait for it, and find the message delivered by the time it returns."""
    import threading

    from calibration.models import Job, JobStatus, OutgoingMail
    from calibration.notify import outbox
    from calibration.notify.queue import run_due_jobs

    from ..jobs.helpers import app_with_queue

    release = threading.Event()
    original = smtp_sink.handle_DATA

    async def held(server, session, envelope):  # type: ignore[no-untyped-def]
        release.wait(30)
        return await original(server, session, envelope)

    monkeypatch.setattr(smtp_sink, "handle_DATA", held)
    with app_with_queue(app_config, tmp_path) as app:
        resp = post_form(app.test_client(), "/password/forgot", {"email": world.emails["assessor"]})
        assert resp.status_code == 200  # answered without a word to the mail server
        assert smtp_sink.to(world.emails["assessor"]) == []
        db.rollback()
        [job] = db.scalars(select(Job).where(Job.kind == outbox.DELIVER_JOB)).all()
        [row] = db.scalars(select(OutgoingMail)).all()
        assert (job.status, row.attempts) == (JobStatus.QUEUED, 0)  # waiting for a worker, untried
        release.set()
        assert run_due_jobs(app) >= 1  # what a worker does after the reply
    assert len(smtp_sink.to(world.emails["assessor"])) == 1


def test_reset_mails_are_capped_per_account_and_hour_without_telling(app, world, db, smtp_sink, monkeypatch):
    """A fourth request within the hour is answered alike but sends nothing, and the third link
    still works; other accounts are unaffected; an hour later it works again."""
    from calibration.models import AuditEvent

    clock = Clock(monkeypatch)
    me, other = world.emails["assessor"], world.emails["assessor2"]
    replies = []
    for _ in range(4):
        replies.append(post_form(app.test_client(), "/password/forgot", {"email": me}))
    replies.append(post_form(app.test_client(), "/password/forgot", {"email": "nobody@nowhere.test"}))
    replies.append(post_form(app.test_client(), "/password/forgot", {"email": other}))
    assert {r.status_code for r in replies} == {200}
    assert len({r.get_data() for r in replies}) == 1  # the same page, throttled or not
    assert len(smtp_sink.to(me)) == 3 and len(smtp_sink.to(other)) == 1
    db.rollback()
    outcomes = db.scalars(
        select(AuditEvent.outcome)
        .where(
            AuditEvent.action == "password.reset_request", AuditEvent.object_id == str(world.ids["assessor"])
        )
        .order_by(AuditEvent.id)
    ).all()
    assert outcomes == ["ok", "ok", "ok", "throttled"]
    # Mail goes out in the background, so arrival order is not issue order: of the three links the
    # newest still works (each new link revokes the one before; the throttled request revoked nothing).
    statuses = sorted(app.test_client().get(link_path(m)).status_code for m in smtp_sink.to(me))
    assert statuses == [200, 400, 400]

    clock.advance(dt.timedelta(hours=1, seconds=1))
    post_form(app.test_client(), "/password/forgot", {"email": me})
    assert len(smtp_sink.to(me)) == 4
