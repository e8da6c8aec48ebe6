"""Verify an Open Badges credential this service issued: proof, dates and status, without the network.

What a conforming verifier does, with every lookup answered from this service's own data: the
proof's verification method must be a key one of our issuers publishes (and belong to the issuer the
credential names), the ``eddsa-rdfc-2022`` signature must match the canonical document (contexts
from the bundled files only), ``validFrom``/``validUntil`` must hold now, and the bit named by the
``credentialStatus`` entry must be clear in the issuer's signed status list (itself verified).
A credential from another issuer cannot be checked here, since nothing is fetched: it is reported
as such, never as valid.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..db import utcnow
from . import credential_keys as keys
from . import credentials
from . import dataintegrity as di
from .context import SystemActor
from .errors import InvalidInput, NotFound

#: Largest credential file accepted for verification (a credential of ours is a few KiB).
MAX_BYTES = 256 * 1024
#: Most JSON objects and arrays in a document checked: ours have a few dozen, and canonicalizing a
#: crafted graph of many blank nodes can take very long, so larger ones are refused unread.
MAX_NODES = 500

VALID, EXPIRED, REVOKED, NOT_YET_VALID, INVALID = "valid", "expired", "revoked", "not yet valid", "invalid"


@dataclass(frozen=True)
class Verdict:
    """The outcome: ``state`` (valid, expired, revoked, not yet valid, invalid) and the reasons."""

    state: str
    reasons: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    name: str | None = None
    issuer: str | None = None
    valid_until: str | None = None
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == VALID


def parse(raw: bytes) -> Any:
    """The JSON of an uploaded credential file; :class:`InvalidInput` (a plain reason) if it is not one."""
    if len(raw) > MAX_BYTES:
        raise InvalidInput(
            f"The file is too large ({len(raw):,} bytes): a credential is at most {MAX_BYTES // 1024} KB.",
            {"file": [f"Choose a credential file of at most {MAX_BYTES // 1024} KB."]},
        )
    if not raw.strip():
        raise InvalidInput("The file is empty.", {"file": ["Choose a credential file (JSON)."]})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            "The file is not text: a credential is a JSON file.",
            {"file": ["Choose a credential file (JSON)."]},
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            {"file": ["The file is not valid JSON."]},
        ) from None
    except RecursionError:
        raise InvalidInput(
            "The file is nested too deeply to read.", {"file": ["The file is not a credential."]}
        ) from None
    if not isinstance(document, dict):
        raise InvalidInput(
            "The file is JSON but not a credential (a credential is a JSON object).",
            {"file": ["The file is not a credential."]},
        )
    return document


def read_file(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """``(document, None)`` for a readable credential file, else ``(None, the reason in plain words)``."""
    try:
        return parse(raw), None
    except InvalidInput as exc:
        return None, str(exc)


def _too_complex(document: Any) -> bool:
    seen, stack = 0, [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            continue
        seen += 1
        if seen > MAX_NODES:
            return True
    return False


def _time(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise di.ProofError(f"The credential's {name} is missing or not a date and time.")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise di.ProofError(f"The credential's {name} ({value[:40]}) is not a date and time.") from None
    if parsed.tzinfo is None:
        raise di.ProofError(f"The credential's {name} has no time zone.")
    return parsed


def _shape(document: dict[str, Any]) -> None:
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != di.VC_V2:
        raise di.ProofError(
            "The document is not a Verifiable Credential 2.0 (its first @context must be the VC 2.0 one)."
        )
    types = document.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise di.ProofError("The document's type does not include VerifiableCredential.")


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    issuer = document.get("issuer")
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    return {
        "name": str(document.get("name"))[:200] if document.get("name") is not None else None,
        "issuer": str(issuer.get("name"))[:200] if isinstance(issuer, dict) and issuer.get("name") else None,
        "valid_until": credentials.day_text(str(document.get("validUntil"))[:40])
        if document.get("validUntil")
        else None,
        "achievement": str(achievement.get("name"))[:200]
        if isinstance(achievement, dict) and achievement.get("name")
        else None,
    }


def verify(
    session: Session, settings: keys.IssuerSettings, document: Any, *, now: dt.datetime | None = None
) -> Verdict:
    """Check proof, dates and status of ``document``; never raises for a bad credential."""
    now = now or utcnow()
    if not isinstance(document, dict):
        return Verdict(INVALID, ("The file is not a credential (a credential is a JSON object).",))
    info = _summary(document)
    base = {"name": info["name"], "issuer": info["issuer"], "valid_until": info["valid_until"]}
    checks: list[str] = []
    try:
        if _too_complex(document):
            raise di.ProofError(
                f"The document has more than {MAX_NODES} objects: it is not a credential of this service."
            )
        _shape(document)
        proof = di.read_proof(document)
        found = keys.find_key(session, settings, proof.verification_method)
        if found is None:
            raise di.ProofError(
                "The credential was signed with a key this service does not publish "
                f"({proof.verification_method[:200]}); it cannot be checked here."
            )
        program, key = found
        if _issuer_id(document) != settings.issuer_id(program.slug):
            raise di.ProofError(
                "The signing key belongs to another issuer than the one the credential names."
            )
        di.verify_proof(document, di.public_key_from_multibase(key.public_key_multibase))
        checks.append(f"The signature is valid: signed by {program.name} with its published key.")
        valid_from = _time(document.get("validFrom"), "validFrom")
        valid_until = _time(document["validUntil"], "validUntil") if "validUntil" in document else None
        revoked = _revoked(session, settings, program, document.get("credentialStatus"), now)
    except di.ProofError as exc:
        return Verdict(INVALID, (str(exc),), tuple(checks), **base)
    reasons: list[str] = []
    state = VALID
    if revoked:
        state = REVOKED
        reasons.append("The issuer has revoked this credential (its bit is set in the issuer's status list).")
    else:
        checks.append("The issuer's status list says it is not revoked.")
    if valid_until is not None and valid_until <= now:
        state = state if state != VALID else EXPIRED
        reasons.append(f"The credential expired on {valid_until:%-d %B %Y} (validUntil).")
    if valid_from > now:
        state = state if state != VALID else NOT_YET_VALID
        reasons.append(f"The credential is not valid before {valid_from:%-d %B %Y} (validFrom).")
    if state == VALID:
        checks.append("It is within its validity dates.")
    return Verdict(state, tuple(reasons), tuple(checks), **base)


def _revoked(
    session: Session, settings: keys.IssuerSettings, program: Any, entry: Any, now: dt.datetime
) -> bool:
    if entry is None:
        return False
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        raise di.ProofError("The credential's status entry is not a BitstringStatusListEntry.")
    if entry.get("statusPurpose") != "revocation":
        raise di.ProofError("The credential's status entry has a purpose this service does not check.")
    if entry.get("statusListCredential") != settings.status_list_id(program.slug):
        raise di.ProofError(
            "The credential's status list is not its issuer's list here; it cannot be checked offline."
        )
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or not raw_index.isdigit() or len(raw_index) > 7:
        raise di.ProofError("The credential's status index is not a number.")
    try:
        listed = credentials.status_list(session, SystemActor(program.id), settings, program, now=now)
    except NotFound:
        raise di.ProofError("The issuer has no status list yet.") from None
    method = str(listed["proof"]["verificationMethod"])
    found = keys.find_key(session, settings, method)
    if found is None:
        raise di.ProofError("The status list is signed with a key the issuer does not publish.")
    di.verify_proof(listed, di.public_key_from_multibase(found[1].public_key_multibase))
    return di.status_bit(listed["credentialSubject"]["encodedList"], int(raw_index))
