"""The credential pages: public and readable without login, suspend → revoked on the public page
and in verify, reinstate → a new credential (both audited), "Get your credential" on My
certification, the verifier's clear 400s, and ``flask verify-credential``."""

from __future__ import annotations

import datetime as dt
import io
import json

from sqlalchemy import func, select

from calibration.db import utcnow
from calibration.models import AuditEvent, IssuedCredential, Membership

from ..conftest import post_form
from . import independent
from .conftest import BASE
from .helpers import EMAIL, certify, fetch, issued, path_of


def _login(app, email):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert post_form(client, "/login", {"email": email, "password": "pw-for-tests"}).status_code == 302
    return client


def _audits(db, action):  # type: ignore[no-untyped-def]
    db.rollback()
    return [
        json.loads(d) for d in db.scalars(select(AuditEvent.detail_json).where(AuditEvent.action == action))
    ]


def _check_file(client, content, name="credential.json"):  # type: ignore[no-untyped-def]
    return post_form(client, "/credentials/verify", {"file": (io.BytesIO(content), name)})


def test_public_pages_need_no_login_and_name_no_one(app, client, db, world):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    page = client.get(f"/credentials/{row.public_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Verified: this credential is valid now" in html
    assert "Certified assessor: Program alpha" in html and "exact agreement with the master key 100%" in html
    assert EMAIL not in html and "Lee Learner" not in html
    download = client.get(f"/credentials/{row.public_id}.json?download=1")
    assert download.status_code == 200 and download.mimetype == "application/ld+json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.get_data(as_text=True)) == json.loads(row.document)
    assert client.get("/credentials/issuers/alpha").status_code == 200
    assert client.get("/credentials/status/alpha").status_code == 200
    for url in ("/credentials/not-a-credential", "/credentials/nope.json", "/credentials/issuers/nope",
                "/credentials/status/nope", "/credentials/status/beta"):  # fmt: skip
        assert client.get(url).status_code == 404, url


def test_suspend_revokes_on_the_public_page_and_in_verify_and_reinstate_issues_anew(app, client, db, world):
    uid = certify(app, db, world)
    [first] = issued(db, uid)
    doc = first.document.encode()
    trainer = _login(app, world.emails["trainer"])
    person = f"/trainer/people/{uid}"
    resp = post_form(
        trainer, f"{person}/suspend", {"suspend-reason": "Conflict of interest"}, token_page=person
    )
    assert resp.status_code == 302
    html = client.get(f"/credentials/{first.public_id}").get_data(as_text=True)
    assert "Revoked: this credential no longer verifies" in html
    verdict = _check_file(client, doc).get_data(as_text=True)
    assert "Revoked" in verdict and "The issuer has revoked this credential" in verdict
    listed = fetch(client, json.loads(first.document)["credentialStatus"]["statusListCredential"])
    assert independent.status_bit(listed, first.status_index) is True
    [revoke] = _audits(db, "credential.revoke")
    assert revoke["credential_ids"] == [first.id] and "Conflict of interest" in revoke["reason"]

    resp = post_form(trainer, f"{person}/reinstate", {"reinstate-reason": "Resolved"}, token_page=person)
    assert resp.status_code == 302
    old, new = issued(db, uid)
    assert old.revoked_at is not None and new.revoked_at is None and new.public_id != first.public_id
    assert json.loads(new.document)["awardedDate"] == json.loads(first.document)["awardedDate"]
    assert "Verified" in client.get(f"/credentials/{new.public_id}").get_data(as_text=True)
    assert "Revoked" in client.get(f"/credentials/{first.public_id}").get_data(as_text=True)
    assert [a["credential_id"] for a in _audits(db, "credential.issue")] == [first.id, new.id]


def test_get_your_credential_on_my_certification(app, db, world):
    m = db.scalar(select(Membership).where(Membership.user_id == world.ids["assessor"]))
    m.certified_at, m.certification_expires_at = utcnow(), utcnow() + dt.timedelta(days=200)
    db.commit()
    me = _login(app, world.emails["assessor"])
    page = me.get("/certification").get_data(as_text=True)
    assert "Get your credential" in page and "Download your credential" not in page
    resp = post_form(me, "/certification/credential", {}, token_page="/certification")
    assert resp.status_code == 302
    [row] = issued(db, world.ids["assessor"])
    page = me.get("/certification").get_data(as_text=True)
    assert f"/credentials/{row.public_id}.json?download=1" in page
    assert f'value="{BASE}/credentials/{row.public_id}"' in page
    post_form(me, "/certification/credential", {}, token_page="/certification")
    assert len(issued(db, world.ids["assessor"])) == 1  # the valid one is kept, not doubled
    other = _login(app, world.emails["assessor2"])  # certified without an expiry: nothing to issue
    post_form(other, "/certification/credential", {}, token_page="/certification")
    assert issued(db, world.ids["assessor2"]) == []
    assert "Only a certified assessor" in other.get("/certification").get_data(as_text=True)


def test_the_verifier_answers_bad_files_with_a_clear_400_and_writes_nothing(app, client, db, world):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    db.rollback()
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    assert client.get("/credentials/verify").status_code == 200
    cases = {
        b"{not json": "not valid JSON",
        b"[1, 2]": "not a credential",
        b"": "empty",
        b"\xff\xfe\x00": "not text",
        b"[" * 300_000: "too large",
    }
    for content, words in cases.items():
        resp = _check_file(client, content)
        assert resp.status_code == 400 and words in resp.get_data(as_text=True), (content[:10], words)
    resp = post_form(client, "/credentials/verify", {})
    assert resp.status_code == 400 and "Choose a credential file" in resp.get_data(as_text=True)
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    assert _check_file(client, deep).status_code == 400
    tampered = json.loads(row.document)
    tampered["name"] = "Master assessor"
    resp = _check_file(client, json.dumps(tampered).encode())
    assert resp.status_code == 200 and "Does not verify" in resp.get_data(as_text=True)
    assert "signature does not match" in resp.get_data(as_text=True)
    odd = json.loads(row.document)
    odd["@context"] = [odd["@context"][0], {"@version": "bad"}]
    assert "Does not verify" in _check_file(client, json.dumps(odd).encode()).get_data(as_text=True)
    ok = _check_file(client, row.document.encode())
    assert ok.status_code == 200 and "Verified: this credential is valid now" in ok.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 1


def test_verify_credential_command(app, db, world, runner, tmp_path):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    good = tmp_path / "good.json"
    good.write_text(row.document)
    result = runner.invoke(args=["verify-credential", str(good)])
    assert result.exit_code == 0 and "The credential is valid." in result.output, result.output
    doc = json.loads(row.document)
    doc["validUntil"] = "2099-12-31T00:00:00Z"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = runner.invoke(args=["verify-credential", str(bad)])
    assert result.exit_code == 1 and "signature does not match" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{oops")
    result = runner.invoke(args=["verify-credential", str(broken)])
    assert result.exit_code == 1 and "not valid JSON" in result.output
    assert path_of(doc["id"]).startswith("/credentials/")


def test_passing_qualification_through_the_pages_issues_the_credential(app, db, world):
    """The real path: the newcomer's last sheet (a web request) certifies them, and the same
    request's transaction issues the credential."""
    from calibration.models import RoundKind
    from calibration.services import training
    from calibration.services.context import SystemActor

    from ..factories_onboarding import qualification_pool, rounds_of, score_round
    from .helpers import POLICY, newcomer

    qualification_pool(db, world, sets=2)
    uid = newcomer(db, world)
    training.assign_qualification_round(
        db, SystemActor(world.program_a), program_id=world.program_a, user_id=uid, window=POLICY.window
    )
    db.commit()
    [rnd] = rounds_of(db, uid, RoundKind.QUALIFICATION)
    me = _login(app, EMAIL)
    responses = score_round(me, db, world, rnd.id, good=True)
    assert all(r.status_code in (200, 302) for r in responses)
    [row] = issued(db, uid)
    assert row.round_id == rnd.id
    page = me.get("/certification").get_data(as_text=True)
    assert f"/credentials/{row.public_id}.json?download=1" in page


def test_a_document_with_too_many_nodes_is_refused_before_canonicalizing(app, client, db, world):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    doc = json.loads(row.document)
    doc["credentialSubject"]["extra"] = [{"n": i} for i in range(600)]
    resp = _check_file(client, json.dumps(doc).encode())
    assert resp.status_code == 200 and "more than 500 objects" in resp.get_data(as_text=True)


def test_credential_key_command(app, db, world, runner):
    assert "Key made" in runner.invoke(args=["credential-key", "--program", "beta"]).output
    again = runner.invoke(args=["credential-key", "--program", "beta"])
    assert again.exit_code == 0 and "already has a key" in again.output
    assert runner.invoke(args=["credential-key", "--program", "nope"]).exit_code == 1
    assert client_profile_keys(app) == 1


def client_profile_keys(app):  # type: ignore[no-untyped-def]
    profile = json.loads(app.test_client().get("/credentials/issuers/beta").get_data(as_text=True))
    return len(profile["verificationMethod"])


def test_a_credential_key_that_cannot_decrypt_never_blocks_certification(app, client, db, world, runner):
    from calibration.models import CertificationStatus
    from calibration.services import certification
    from calibration.services.context import SystemActor

    from .helpers import finish_transaction

    uid = certify(app, db, world)
    [row] = issued(db, uid)
    app.config["CREDENTIAL_KEY"] = "another-credential-key-" + "x" * 20
    m = db.scalar(select(Membership).where(Membership.user_id == uid))
    actor = SystemActor(world.program_a)
    certification.set_status(db, actor, m, CertificationStatus.RECALIBRATION_DUE, reason="flag")
    certification.set_status(
        db, actor, m, CertificationStatus.CERTIFIED, reason="passed", certification_days=365
    )
    finish_transaction(app, db)
    db.rollback()
    assert db.scalar(select(Membership.certification_status).where(Membership.user_id == uid)) == "certified"
    assert len(issued(db, uid)) == 1
    failed = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "credential.issue", AuditEvent.outcome == "failed")
    )
    assert failed is not None and "CREDENTIAL_KEY" in failed.detail_json
    resp = client.get(f"/credentials/{row.public_id}")
    assert resp.status_code == 503 and "signing key is unavailable" in resp.get_data(as_text=True)
    refused = runner.invoke(args=["credential-key", "--program", "alpha", "--rotate"])
    assert refused.exit_code == 1 and "cannot be decrypted" in refused.output
    rotated = runner.invoke(args=["credential-key", "--program", "alpha", "--rotate", "--old-key-lost"])
    assert rotated.exit_code == 0, rotated.output
    assert "Verified: this credential is valid now" in client.get(f"/credentials/{row.public_id}").get_data(
        as_text=True
    )
