"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite, and the pieces around them.

Pure functions (no database, no Flask): canonicalize a JSON-LD document with RDFC-1.0 (URDNA2015,
by PyLD), hash with SHA-256, sign and verify with Ed25519 (``cryptography``), and encode keys and
signatures in multibase (``z`` + base58btc). The JSON-LD contexts are loaded from the files bundled
in ``contexts/`` only: any other URL is an error, so nothing is ever fetched from the network.

The algorithm (W3C Data Integrity EdDSA Cryptosuites, section 3.3): the proof options (the proof
without ``proofValue``, with the document's ``@context``) and the document (without ``proof``) are
each canonicalized and hashed; the data signed is ``sha256(proof options) || sha256(document)``;
``proofValue`` is ``z`` + base58btc(signature). 1EdTech's Open Badges 3.0 test vector
(``tests/credentials/``) checks every step byte for byte.

Also here: the Bitstring Status List encoding (W3C Bitstring Status List 1.0, GZIP then base64url
with a ``u`` multibase prefix; bit 0 is the most significant bit of the first byte).
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"

_CONTEXT_DIR = Path(__file__).resolve().parent / "contexts"
#: The only JSON-LD documents the loader serves: URL -> bundled file.
CONTEXT_FILES: dict[str, str] = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3: "ob-context-3.0.3.json",
}
_ED25519_PUB = b"\xed\x01"  # multicodec prefix of an Ed25519 public key (varint 0xed)

#: Smallest status list (W3C Bitstring Status List: 16 KiB, 131,072 entries, for group privacy).
STATUS_LIST_BITS = 131_072


class ProofError(ValueError):
    """A proof or document cannot be checked or does not verify; ``str(err)`` says why, plainly."""


class UnknownContext(ProofError):
    """The document names a JSON-LD context that is not bundled (it is never fetched)."""


_loaded: dict[str, Any] = {}


def load_context(url: str) -> Any:
    """The bundled context for ``url`` (parsed once per process)."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise UnknownContext(
            f"The document uses a context this service does not have ({url[:200]}); "
            "nothing is fetched from the network, so it cannot be checked."
        )
    if url not in _loaded:
        _loaded[url] = json.loads((_CONTEXT_DIR / name).read_text(encoding="utf-8"))
    return copy.deepcopy(_loaded[url])


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """PyLD document loader restricted to the bundled contexts (any other URL raises)."""
    return {"contextUrl": None, "documentUrl": url, "document": load_context(url)}


class UndefinedTerm(ProofError):
    """A property no context defines: JSON-LD would drop it silently, leaving it unsigned."""


def _refuse_dropped(term: str | None) -> None:
    raise UndefinedTerm(
        f"The document has a property that no context defines ({str(term)[:80]}): it would not be "
        "covered by the signature, so the document is refused (JSON-LD safe mode)."
    )


def canonicalize(document: Mapping[str, Any]) -> str:
    """The RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document, in safe mode: a property
    that no context defines is an error (:class:`UndefinedTerm`), never silently left unsigned."""
    try:
        nquads = jsonld.JsonLdProcessor(on_property_dropped=_refuse_dropped).normalize(
            dict(document),
            {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader},
        )
    except jsonld.JsonLdError as exc:
        cause = _root_cause(exc)
        if isinstance(cause, ProofError):
            raise cause from None
        raise ProofError(f"The document is not valid JSON-LD: {_short(exc)}") from None
    except ProofError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError):
        # PyLD assumes well-formed input in places; a malformed document is still only "not valid".
        raise ProofError("The document is not valid JSON-LD.") from None
    return cast(str, nquads)


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while True:
        nxt = getattr(seen, "cause", None) or seen.__cause__
        if nxt is None or nxt is seen:
            return seen
        seen = nxt


def _short(exc: BaseException) -> str:
    text = str(exc.args[0] if exc.args else exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__


def hash_data(document: Mapping[str, Any], proof_options: Mapping[str, Any]) -> bytes:
    """``sha256(canonical proof options) || sha256(canonical document)``: the data signed."""
    options = {k: v for k, v in proof_options.items() if k != "proofValue"}
    options["@context"] = document.get("@context")
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    return (
        hashlib.sha256(canonicalize(options).encode()).digest()
        + hashlib.sha256(canonicalize(unsigned).encode()).digest()
    )


# ------------------------------------------------------------------------------------- keys
def public_key_multibase(public_key: bytes) -> str:
    """The Multikey ``publicKeyMultibase`` of a 32-byte Ed25519 public key (``z6Mk...``)."""
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return "z" + base58.b58encode(_ED25519_PUB + public_key).decode("ascii")


def public_key_from_multibase(value: str) -> bytes:
    """The 32 raw bytes of an Ed25519 ``publicKeyMultibase``; :class:`ProofError` if it is not one."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("The public key is not a base58btc multibase value.")
    try:
        raw = base58.b58decode(value[1:])
    except ValueError:
        raise ProofError("The public key is not valid base58btc.") from None
    if len(raw) != 34 or raw[:2] != _ED25519_PUB:
        raise ProofError("The public key is not an Ed25519 Multikey.")
    return raw[2:]


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes_raw()


# ----------------------------------------------------------------------------------- proofs
def proof_options(verification_method: str, created: str) -> dict[str, Any]:
    """The proof options of an ``eddsa-rdfc-2022`` assertion proof (what is signed with the document)."""
    return {
        "type": PROOF_TYPE,
        "created": created,
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": "assertionMethod",
    }


def sign(
    document: Mapping[str, Any], private_key: Ed25519PrivateKey, *, verification_method: str, created: str
) -> dict[str, Any]:
    """A copy of ``document`` with a ``DataIntegrityProof`` (``eddsa-rdfc-2022``) added."""
    if "proof" in document:
        raise ValueError("the document already has a proof")
    options = proof_options(verification_method, created)
    signature = private_key.sign(hash_data(document, options))
    signed = copy.deepcopy(dict(document))
    signed["proof"] = {**options, "proofValue": "z" + base58.b58encode(signature).decode("ascii")}
    return signed


@dataclass(frozen=True)
class Proof:
    """The parts of a document's proof that a verifier needs."""

    verification_method: str
    created: str
    signature: bytes
    options: dict[str, Any]


def read_proof(document: Mapping[str, Any]) -> Proof:
    """The document's single ``eddsa-rdfc-2022`` assertion proof, checked for shape."""
    proof = document.get("proof")
    if proof is None:
        raise ProofError("The credential has no proof: it was never signed.")
    if not isinstance(proof, dict):
        raise ProofError("The credential has more than one proof or a malformed one; only one is checked.")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(
            f"The proof is not a {PROOF_TYPE} with the {CRYPTOSUITE} cryptosuite, the only kind checked here."
        )
    if proof.get("proofPurpose") != "assertionMethod":
        raise ProofError("The proof's purpose is not assertionMethod.")
    method, created, value = proof.get("verificationMethod"), proof.get("created"), proof.get("proofValue")
    if not isinstance(method, str) or not method:
        raise ProofError("The proof does not name its verification method.")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("The proof value is missing or not base58btc multibase.")
    try:
        signature = base58.b58decode(value[1:])
    except ValueError:
        raise ProofError("The proof value is not valid base58btc.") from None
    if len(signature) != 64:
        raise ProofError("The proof value is not an Ed25519 signature (64 bytes).")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    return Proof(method, str(created or ""), signature, options)


def verify_proof(document: Mapping[str, Any], public_key: bytes) -> Proof:
    """Check the document's proof against ``public_key`` (32 raw bytes); :class:`ProofError` says why not."""
    proof = read_proof(document)
    data = hash_data(document, proof.options)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(proof.signature, data)
    except InvalidSignature:
        raise ProofError(
            "The signature does not match: the credential was changed after it was signed, "
            "or it was not signed with this key."
        ) from None
    return proof


# ------------------------------------------------------------------------------ status list
def encode_status_list(revoked: set[int] | frozenset[int], size: int = STATUS_LIST_BITS) -> str:
    """The ``encodedList`` of a bitstring of ``size`` bits with the ``revoked`` indexes set."""
    bits = bytearray(size // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside the list")
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def status_bit(encoded_list: str, index: int) -> bool:
    """Whether bit ``index`` of an ``encodedList`` is set; :class:`ProofError` if it cannot be read."""
    if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
        raise ProofError("The status list is not base64url multibase.")
    body = encoded_list[1:]
    try:
        raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, OSError, EOFError):
        raise ProofError("The status list cannot be decoded.") from None
    if not 0 <= index < len(raw) * 8:
        raise ProofError("The credential's status index is outside its status list.")
    return bool(raw[index // 8] & (0x80 >> (index % 8)))
