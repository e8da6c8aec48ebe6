"""1EdTech's Open Badges 3.0 ``eddsa-rdfc-2022`` test vector, reproduced byte for byte by
:mod:`calibration.services.dataintegrity` (canonical N-Quads, hashes, data to sign, signature,
proof value, Multikey), with the JSON-LD contexts loaded from the bundled files only."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from calibration.services import dataintegrity as di

HERE = Path(__file__).resolve().parent
VECTOR = json.loads((HERE / "eddsa-rdfc-2022-test-vector.json").read_text(encoding="utf-8"))


def _private_key() -> Ed25519PrivateKey:
    # The vector's private key is seed || public key (64 bytes); Ed25519 keys are the 32-byte seed.
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(VECTOR["private_key_hex"])[:32])


def test_the_bundled_contexts_are_the_published_ones():
    for url, name in di.CONTEXT_FILES.items():
        assert di.load_context(url) == json.loads((HERE / name).read_text(encoding="utf-8")), url


def test_document_canonical_form_matches_byte_for_byte():
    canon = di.canonicalize(VECTOR["unsigned_credential"])
    assert canon == (HERE / VECTOR["document_canon_file"]).read_text(encoding="utf-8")
    assert hashlib.sha256(canon.encode()).hexdigest() == VECTOR["document_hash_hex"]


def test_proof_options_canonical_form_matches_byte_for_byte():
    options = dict(VECTOR["proof_options"], **{"@context": VECTOR["unsigned_credential"]["@context"]})
    canon = di.canonicalize(options)
    assert canon == (HERE / VECTOR["proof_canon_file"]).read_text(encoding="utf-8")
    assert hashlib.sha256(canon.encode()).hexdigest() == VECTOR["proof_hash_hex"]


def test_data_to_sign_signature_and_proof_value_match():
    data = di.hash_data(VECTOR["unsigned_credential"], VECTOR["proof_options"])
    assert data.hex() == VECTOR["data_to_sign_hex"]
    options = VECTOR["proof_options"]
    signed = di.sign(
        VECTOR["unsigned_credential"],
        _private_key(),
        verification_method=options["verificationMethod"],
        created=options["created"],
    )
    assert signed["proof"] == {**options, "proofValue": VECTOR["proof_value"]}
    assert di.read_proof(signed).signature.hex() == VECTOR["signature_hex"]
    assert "proof" not in VECTOR["unsigned_credential"]  # the input is left alone


def test_multikey_of_the_vector_key():
    public = bytes.fromhex(VECTOR["public_key_hex"])
    assert di.public_bytes(_private_key()) == public
    assert di.public_key_multibase(public) == VECTOR["public_key_multibase"]
    assert di.public_key_from_multibase(VECTOR["public_key_multibase"]) == public
    assert VECTOR["verification_method"].endswith("#" + VECTOR["public_key_multibase"])


def test_the_published_proof_verifies_and_a_changed_one_does_not():
    signed = dict(
        VECTOR["unsigned_credential"], proof=dict(VECTOR["proof_options"], proofValue=VECTOR["proof_value"])
    )
    di.verify_proof(signed, bytes.fromhex(VECTOR["public_key_hex"]))
    tampered = copy.deepcopy(signed)
    tampered["name"] = "Teamwork Badge (gold)"
    with pytest.raises(di.ProofError, match="signature does not match"):
        di.verify_proof(tampered, bytes.fromhex(VECTOR["public_key_hex"]))


def test_an_unknown_context_is_refused_not_fetched():
    doc = dict(VECTOR["unsigned_credential"])
    doc["@context"] = [*doc["@context"], "https://example.org/ctx.jsonld"]
    with pytest.raises(di.UnknownContext, match="nothing is fetched"):
        di.canonicalize(doc)


def test_status_list_bits_round_trip():
    encoded = di.encode_status_list({0, 9, 131_071})
    assert encoded.startswith("u") and "=" not in encoded
    assert [di.status_bit(encoded, i) for i in (0, 1, 8, 9, 131_070, 131_071)] == [
        True, False, False, True, False, True
    ]  # fmt: skip
    with pytest.raises(di.ProofError):
        di.status_bit(encoded, 131_072)


def test_a_property_no_context_defines_is_refused_not_left_unsigned():
    doc = dict(VECTOR["unsigned_credential"], nickname="Teamwork")
    with pytest.raises(di.UndefinedTerm, match=r"no context defines \(nickname\)"):
        di.canonicalize(doc)
    signed = dict(
        VECTOR["unsigned_credential"], proof=dict(VECTOR["proof_options"], proofValue=VECTOR["proof_value"])
    )
    signed["credentialSubject"] = dict(signed["credentialSubject"], nickname="Teamwork")
    with pytest.raises(di.UndefinedTerm):
        di.verify_proof(signed, bytes.fromhex(VECTOR["public_key_hex"]))
