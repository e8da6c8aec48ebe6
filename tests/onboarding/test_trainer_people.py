"""The trainer's invitation and assessor pages: bad input keeps what was typed and writes nothing;
another program's trainer gets 404 and changes nothing; a token-less POST is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from calibration.models import AccountToken, AuditEvent, CertificationStatus, Membership, User

from ..conftest import post_form
from ..factories import PASSWORD


def login(app: Any, email: str) -> Any:
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": PASSWORD}).status_code == 302
    return client


def counts(db: Any) -> tuple[int, int, int]:
    db.rollback()
    return (
        db.scalar(select(func.count()).select_from(User)),
        db.scalar(select(func.count()).select_from(AccountToken)),
        db.scalar(select(func.count()).select_from(AuditEvent)),
    )


def test_a_bad_list_invites_nobody_and_keeps_the_text(app, world, db, smtp_sink):
    trainer = login(app, world.emails["trainer"])
    before = counts(db)
    typed = f"ok.person@example.test, not-an-address, {world.emails['assessor']}"
    resp = post_form(trainer, "/trainer/invitations", {"emails": typed})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "“not-an-address” is not an email address." in body
    assert f"{world.emails['assessor']} already has an account" in body
    assert "ok.person@example.test, not-an-address" in body
    assert counts(db)[:2] == before[:2] and smtp_sink.messages == []
    resp = post_form(trainer, "/trainer/invitations", {"emails": "bad\x00@example.test"})
    assert resp.status_code == 400 and counts(db)[:2] == before[:2]


def test_a_pasted_list_invites_everyone(app, world, db, smtp_sink):
    trainer = login(app, world.emails["admin"])
    resp = post_form(
        trainer, "/trainer/invitations", {"emails": "one@example.test\ntwo@example.test; one@example.test"}
    )
    assert resp.status_code == 302
    assert sorted(m["To"] for m in smtp_sink.messages) == ["one@example.test", "two@example.test"]
    page = trainer.get("/trainer/invitations").get_data(as_text=True)
    assert "Invitation sent to 2 people" in page and page.count("waiting, expires") == 2
    db.rollback()
    statuses = db.scalars(
        select(Membership.certification_status).join(User).where(User.email.like("%@example.test"))
    ).all()
    assert statuses == [CertificationStatus.INVITED] * 2


def test_another_programs_trainer_cannot_touch_an_assessor(app, world, db):
    uid = world.ids["assessor"]
    other = login(app, world.emails["trainer_b"])
    before = counts(db)
    for action in ("suspend", "reinstate", "decide"):
        resp = post_form(
            other,
            f"/trainer/people/{uid}/{action}",
            {"reason": "x", "suspend-reason": "x"},
            token_page="/trainer/people",
        )
        assert resp.status_code == 404, action
    for action in ("resend", "revoke"):
        resp = post_form(other, f"/trainer/invitations/{uid}/{action}", {}, token_page="/trainer/invitations")
        assert resp.status_code in (302, 404)
    assert counts(db)[:2] == before[:2]  # (failed authorizations may be audited)
    db.rollback()
    assert db.scalar(select(Membership.certification_status).where(Membership.user_id == uid)) == (
        CertificationStatus.CERTIFIED
    )


def test_suspend_through_the_page(app, world, db):
    uid = world.ids["assessor"]
    trainer = login(app, world.emails["trainer"])
    page = f"/trainer/people/{uid}"
    assert trainer.post(f"{page}/suspend", data={"suspend-reason": "x"}).status_code == 400  # no CSRF token
    resp = post_form(trainer, f"{page}/suspend", {"suspend-reason": ""}, token_page=page)
    assert resp.status_code == 400 and "Give a reason" in resp.get_data(as_text=True)
    resp = post_form(trainer, f"{page}/suspend", {"suspend-reason": "Missed two sessions"}, token_page=page)
    assert resp.status_code == 302
    db.rollback()
    assert db.scalar(select(Membership.certification_status).where(Membership.user_id == uid)) == (
        CertificationStatus.SUSPENDED
    )
    assessor = login(app, world.emails["assessor"])
    assert "Missed two sessions" in assessor.get("/certification").get_data(as_text=True)
