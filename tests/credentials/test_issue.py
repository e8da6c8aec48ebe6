"""Issuing: a certified assessor's OpenBadgeCredential, checked by an independent verifier (PyLD and
cryptography used directly), its fields, what it must never carry, renewal, and the checks that
must fail (tampered, wrong key, expired, revoked) with a clear reason."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from calibration.db import utcnow
from calibration.models import Anchor, AnchorKeyEntry, AuditEvent, IssuerKey, Membership
from calibration.services import certification, credential_keys, credential_verify, credentials
from calibration.services import dataintegrity as di
from calibration.services.context import SystemActor

from ..factories_rounds import trainer
from . import independent
from .conftest import BASE
from .helpers import EMAIL, certify, fetch, finish_transaction, issued


def settings() -> credential_keys.IssuerSettings:
    return credential_keys.IssuerSettings(BASE, "test-credential-key-" + "k" * 24)


def test_a_certified_assessor_gets_a_credential_that_verifies_independently(app, client, db, world):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    doc = json.loads(row.document)
    served = fetch(client, doc["id"])
    assert served == doc
    profile = fetch(client, doc["issuer"]["id"])
    key = independent.public_key_of(profile, doc["proof"]["verificationMethod"])
    assert independent.proof_verifies(served, key)

    m = db.scalar(select(Membership).where(Membership.user_id == uid))
    assert doc["@context"] == [di.VC_V2, di.OB_V3]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert (
        doc["id"].startswith(BASE + "/credentials/")
        and doc["issuer"]["id"] == BASE + "/credentials/issuers/alpha"
    )
    assert profile["type"] == ["Profile"] and profile["name"] == doc["issuer"]["name"] == "Program alpha"
    assert doc["validUntil"] == credentials.timestamp(m.certification_expires_at)
    assert doc["awardedDate"] == credentials.timestamp(m.certified_at) <= doc["validFrom"] < doc["validUntil"]
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    [identity] = subject["identifier"]
    assert identity["type"] == "IdentityObject" and identity["hashed"] is True
    assert identity["identityHash"] == credentials.identity_hash(EMAIL, identity["salt"])
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["achievementType"] == "Certification"
    assert "exact agreement with the key of at least 70%" in achievement["criteria"]["narrative"]
    assert [a["targetType"] for a in achievement["alignment"]] == ["CFRubric"]
    [evidence] = doc["evidence"]
    assert evidence["type"] == ["Evidence"] and "qualification round" in evidence["name"]
    assert re.search(
        r"exact agreement with the master key 100% \(95% interval \d+% to 100%\)", evidence["narrative"]
    )
    status = doc["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert status["statusListIndex"] == str(row.status_index)
    listed = fetch(client, status["statusListCredential"])
    assert independent.proof_verifies(
        listed, independent.public_key_of(profile, listed["proof"]["verificationMethod"])
    )
    assert independent.status_bit(listed, row.status_index) is False
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("credential.%"))))
    assert sorted(actions) == ["credential.issue", "credential.key_create"]


def test_the_credential_carries_no_email_name_anchor_content_or_key(app, db, world):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    text = row.document
    assert EMAIL not in text and "Lee Learner" not in text
    for title, evidence in db.execute(select(Anchor.title, Anchor.evidence_md)):
        assert title not in text and evidence not in text
    for (rationale,) in db.execute(select(AnchorKeyEntry.rationale)):
        assert rationale not in text
    key_row = db.scalar(select(IssuerKey))
    seed = credential_keys.private_key(settings().secret, key_row).private_bytes_raw()
    assert seed.hex() not in text and seed.hex() not in key_row.private_key_encrypted
    assert "private" not in text.lower()


def test_verify_reports_valid_then_each_failure_with_its_reason(app, db, world):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    doc = json.loads(row.document)
    ok = credential_verify.verify(db, settings(), doc)
    assert ok.ok and ok.state == "valid", ok

    tampered = copy.deepcopy(doc)
    tampered["validUntil"] = "2099-01-01T00:00:00Z"
    verdict = credential_verify.verify(db, settings(), tampered)
    assert verdict.state == "invalid" and "signature does not match" in verdict.reasons[0]
    key = independent.public_key_of(
        credential_keys.issuer_profile(db, settings(), world_program(db, world)),
        doc["proof"]["verificationMethod"],
    )
    assert not independent.proof_verifies(tampered, key)

    other = Ed25519PrivateKey.generate()  # signed by someone else, naming the issuer's key
    unsigned = {k: v for k, v in doc.items() if k != "proof"}
    forged = di.sign(
        unsigned, other, verification_method=doc["proof"]["verificationMethod"], created=doc["validFrom"]
    )
    verdict = credential_verify.verify(db, settings(), forged)
    assert verdict.state == "invalid" and "signature does not match" in verdict.reasons[0]
    assert not independent.proof_verifies(forged, key)
    unknown = di.sign(
        unsigned, other, verification_method=doc["issuer"]["id"] + "#" + di.public_key_multibase(di.public_bytes(other)),
        created=doc["validFrom"],
    )  # fmt: skip
    verdict = credential_verify.verify(db, settings(), unknown)
    assert verdict.state == "invalid" and "does not publish" in verdict.reasons[0]

    later = row.valid_until + dt.timedelta(days=1)
    verdict = credential_verify.verify(db, settings(), doc, now=later)
    assert verdict.state == "expired" and verdict.reasons[0].startswith("The credential expired on")

    certification.suspend(
        db, trainer(world), program_id=world.program_a, user_id=uid, reason="Conflict of interest"
    )
    db.commit()
    verdict = credential_verify.verify(db, settings(), doc)
    assert verdict.state == "revoked" and "revoked" in verdict.reasons[0]
    listed = credentials.status_list(db, SystemActor(world.program_a), settings(), world_program(db, world))
    assert independent.status_bit(listed, row.status_index) is True


def world_program(db, world):  # type: ignore[no-untyped-def]
    from calibration.models import Program

    return db.get(Program, world.program_a)


def test_renewal_issues_a_new_credential_and_keeps_the_awarded_date(app, db, world):
    uid = certify(app, db, world)
    [first] = issued(db, uid)
    m = db.scalar(select(Membership).where(Membership.user_id == uid))
    later = utcnow() + dt.timedelta(days=300)
    certification.set_status(
        db, SystemActor(world.program_a), m, certification.S.RECALIBRATION_DUE, reason="flag", now=later
    )
    certification.set_status(
        db, SystemActor(world.program_a), m, certification.S.CERTIFIED, reason="passed recalibration round",
        now=later, certification_days=365,
    )  # fmt: skip
    finish_transaction(app, db)
    rows = issued(db, uid)
    assert len(rows) == 2 and rows[0].revoked_at is None  # a flag is no lapse: the first stays valid
    old, new = json.loads(rows[0].document), json.loads(rows[1].document)
    assert new["awardedDate"] == old["awardedDate"] == credentials.timestamp(first.awarded_at)
    assert new["validUntil"] == credentials.timestamp(later + dt.timedelta(days=365))
    assert (
        new["id"] != old["id"]
        and new["credentialStatus"]["statusListIndex"] != old["credentialStatus"]["statusListIndex"]
    )


def test_lapse_revokes_at_once(app, db, world):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    certification.expire_due(db, now=row.valid_until + dt.timedelta(minutes=1))
    db.commit()
    [row] = issued(db, uid)
    assert row.revoked_at is not None and row.revoked_reason == "certification lapsed"


def test_rotation_keeps_old_credentials_verifying(app, db, world, runner):
    uid = certify(app, db, world)
    [row] = issued(db, uid)
    result = runner.invoke(args=["credential-key", "--program", "alpha", "--rotate"])
    assert result.exit_code == 0, result.output
    db.rollback()
    keys = list(db.scalars(select(IssuerKey).order_by(IssuerKey.id)))
    assert len(keys) == 2 and keys[0].retired_at is not None and keys[1].retired_at is None
    profile = credential_keys.issuer_profile(db, settings(), world_program(db, world))
    assert len(profile["verificationMethod"]) == 2
    old = json.loads(row.document)
    assert independent.proof_verifies(
        old, independent.public_key_of(profile, old["proof"]["verificationMethod"])
    )
    assert credential_verify.verify(db, settings(), old).ok
    m = db.scalar(select(Membership).where(Membership.user_id == uid))
    new = credentials.issue(
        db, SystemActor(world.program_a), settings(), program_id=m.program_id, user_id=uid
    )
    db.commit()
    assert json.loads(new.document)["proof"]["verificationMethod"].endswith(keys[1].public_key_multibase)
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("credential.key%"))))
    assert sorted(actions) == ["credential.key_create", "credential.key_retire", "credential.key_rotate"]


def test_a_wrong_credential_key_cannot_use_or_rotate_the_stored_key(app, db, world):
    certify(app, db, world)
    key = db.scalar(select(IssuerKey))
    wrong = credential_keys.IssuerSettings(BASE, "another-credential-key-" + "x" * 20)
    with pytest.raises(credential_keys.CredentialKeyError, match="CREDENTIAL_KEY is not the key"):
        credential_keys.private_key(wrong.secret, key)
    with pytest.raises(credential_keys.CredentialKeyError):
        credential_keys.rotate_key(db, SystemActor(world.program_a), wrong, world.program_a)
    db.rollback()
    moved = IssuerKey(program_id=world.program_b, public_key_multibase=key.public_key_multibase,
                      private_key_encrypted=key.private_key_encrypted)  # fmt: skip
    with pytest.raises(credential_keys.CredentialKeyError):  # bound to its program
        credential_keys.private_key(settings().secret, moved)
