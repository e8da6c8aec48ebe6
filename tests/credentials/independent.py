"""An independent ``eddsa-rdfc-2022`` verifier for the tests: PyLD, hashlib, cryptography and base58
used directly, the contexts read from this folder's copies of the published files. No project code
is on this path, so a credential that passes here would pass any conforming verifier's proof check."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld

HERE = Path(__file__).resolve().parent
CONTEXTS = {
    "https://www.w3.org/ns/credentials/v2": HERE / "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": HERE / "ob-context-3.0.3.json",
}


def offline_loader(url: str, options: Any = None) -> dict[str, Any]:
    if url not in CONTEXTS:
        raise RuntimeError(f"the test loader does not fetch {url}")
    return {"contextUrl": None, "documentUrl": url, "document": json.loads(CONTEXTS[url].read_text())}


def _canon(doc: dict[str, Any]) -> bytes:
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": offline_loader}
    return str(jsonld.normalize(doc, options)).encode()


def public_key_of(profile: dict[str, Any], method_id: str) -> bytes:
    """The raw Ed25519 key of ``method_id`` in an issuer profile (a Multikey, ``z`` + base58btc)."""
    [method] = [m for m in profile["verificationMethod"] if m["id"] == method_id]
    assert method["type"] == "Multikey" and method["controller"] == profile["id"]
    assert method_id in profile["assertionMethod"]
    raw = base58.b58decode(method["publicKeyMultibase"][1:])
    assert raw[:2] == b"\xed\x01"
    return raw[2:]


def proof_verifies(document: dict[str, Any], public_key: bytes) -> bool:
    """Whether the document's DataIntegrityProof (eddsa-rdfc-2022) verifies with ``public_key``."""
    proof = dict(document["proof"])
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    signature = base58.b58decode(proof.pop("proofValue")[1:])
    proof["@context"] = document["@context"]
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    data = hashlib.sha256(_canon(proof)).digest() + hashlib.sha256(_canon(unsigned)).digest()
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except InvalidSignature:
        return False
    return True


def status_bit(status_list: dict[str, Any], index: int) -> bool:
    """Bit ``index`` of a BitstringStatusList credential's ``encodedList`` (GZIP, base64url, ``u``)."""
    import base64
    import gzip

    encoded = status_list["credentialSubject"]["encodedList"]
    assert encoded[0] == "u"
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(raw) * 8 >= 131_072
    return bool(raw[index // 8] & (0x80 >> (index % 8)))
