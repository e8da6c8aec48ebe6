"""Each program's issuer: its Ed25519 signing keys and its public ``Profile`` document.

A program signs its credentials with a key of its own, made on first need (or ahead of time by
``flask --app wsgi credential-key --program SLUG``). The private half is stored encrypted with
AES-256-GCM under a key derived (HKDF-SHA256) from ``CREDENTIAL_KEY``, bound to the program and
the public key, so a row copied to another program or swapped with another key does not decrypt.
Rotation retires the current key and makes a new one: the retired key signs nothing new but stays
in the issuer profile, so every credential it signed keeps verifying. Both steps are audited.

The issuer's id is an https URL under ``PUBLIC_BASE_URL`` (``/credentials/issuers/<slug>``); each
key is published there as a ``Multikey`` whose id is that URL with the key as fragment, which is
what a proof's ``verificationMethod`` names.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import IssuerKey, Program
from . import audit
from . import dataintegrity as di
from .context import Actor
from .errors import DomainError, NotFound

_VERSION = "v1"
_HKDF_INFO = b"calibration credential issuer key v1"


class CredentialKeyError(DomainError):
    """A stored issuer key cannot be used (``CREDENTIAL_KEY`` is not the one it was stored with)."""


@dataclass(frozen=True)
class IssuerSettings:
    """What issuing needs from the configuration: the public base URL and ``CREDENTIAL_KEY``."""

    base_url: str
    secret: str

    @classmethod
    def from_config(cls, config: Any) -> IssuerSettings:
        """From the app configuration mapping (``PUBLIC_BASE_URL``, ``CREDENTIAL_KEY``)."""
        return cls(str(config.get("PUBLIC_BASE_URL", "")), str(config.get("CREDENTIAL_KEY", "")))

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/")

    def issuer_id(self, slug: str) -> str:
        return f"{self.root}/credentials/issuers/{slug}"

    def status_list_id(self, slug: str) -> str:
        return f"{self.root}/credentials/status/{slug}"

    def credential_id(self, public_id: str) -> str:
        return f"{self.root}/credentials/{public_id}"

    def achievement_id(self, slug: str) -> str:
        return f"{self.root}/credentials/issuers/{slug}/achievements/certified-assessor"

    def verification_method(self, slug: str, key: IssuerKey) -> str:
        return f"{self.issuer_id(slug)}#{key.public_key_multibase}"


def _aead(secret: str) -> AESGCM:
    if not secret:
        raise CredentialKeyError("CREDENTIAL_KEY is not set: issuer keys cannot be stored or used.")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret.encode())
    return AESGCM(derived)


def _bound(program_id: int, multibase: str) -> bytes:
    return f"issuer-key:{program_id}:{multibase}".encode()


def encrypt_private_key(secret: str, program_id: int, private_key: Ed25519PrivateKey) -> tuple[str, str]:
    """``(publicKeyMultibase, encrypted seed)`` of a new key, ready to store."""
    multibase = di.public_key_multibase(di.public_bytes(private_key))
    nonce = os.urandom(12)
    sealed = _aead(secret).encrypt(nonce, private_key.private_bytes_raw(), _bound(program_id, multibase))
    return multibase, f"{_VERSION}.{base64.b64encode(nonce + sealed).decode('ascii')}"


def private_key(secret: str, key: IssuerKey) -> Ed25519PrivateKey:
    """Decrypt a stored key; :class:`CredentialKeyError` if ``secret`` is not the one it was stored with."""
    version, _, body = key.private_key_encrypted.partition(".")
    if version != _VERSION:
        raise CredentialKeyError(f"Issuer key {key.id} is stored in an unknown format.")
    raw = base64.b64decode(body)
    try:
        seed = _aead(secret).decrypt(raw[:12], raw[12:], _bound(key.program_id, key.public_key_multibase))
    except InvalidTag:
        raise CredentialKeyError(
            f"Issuer key {key.id} cannot be decrypted: CREDENTIAL_KEY is not the key it was stored with."
        ) from None
    found = Ed25519PrivateKey.from_private_bytes(seed)
    if di.public_key_multibase(di.public_bytes(found)) != key.public_key_multibase:
        raise CredentialKeyError(f"Issuer key {key.id} does not match its public key.")
    return found


def _program(session: Session, program_id: int, *, lock: bool = False) -> Program:
    stmt = select(Program).where(Program.id == program_id)
    program = session.scalar(stmt.with_for_update() if lock else stmt)
    if program is None:
        raise NotFound("program")
    return program


def keys_of(session: Session, program_id: int) -> list[IssuerKey]:
    """Every key the program has had, oldest first (all stay published)."""
    return list(
        session.scalars(select(IssuerKey).where(IssuerKey.program_id == program_id).order_by(IssuerKey.id))
    )


def current_key(session: Session, program_id: int) -> IssuerKey | None:
    """The key that signs new credentials (None before the first is made)."""
    return session.scalar(
        select(IssuerKey)
        .where(IssuerKey.program_id == program_id, IssuerKey.retired_at.is_(None))
        .order_by(IssuerKey.id.desc())
        .limit(1)
    )


def _new_key(
    session: Session, actor: Actor, settings: IssuerSettings, program_id: int, action: str, now: dt.datetime
) -> IssuerKey:
    multibase, sealed = encrypt_private_key(settings.secret, program_id, Ed25519PrivateKey.generate())
    key = IssuerKey(
        program_id=program_id, public_key_multibase=multibase, private_key_encrypted=sealed, created_at=now
    )
    session.add(key)
    session.flush()
    audit.record(
        session, actor, action, object_type="issuer_key", object_id=key.id, program_id=program_id,
        detail={"public_key_multibase": multibase},
    )  # fmt: skip
    return key


def ensure_key(
    session: Session,
    actor: Actor,
    settings: IssuerSettings,
    program_id: int,
    *,
    now: dt.datetime | None = None,
) -> IssuerKey:
    """The program's signing key, made (and audited) on first need."""
    _program(session, program_id, lock=True)  # two first needs at once make one key
    found = current_key(session, program_id)
    if found is not None:
        return found
    return _new_key(session, actor, settings, program_id, "credential.key_create", now or utcnow())


def rotate_key(
    session: Session,
    actor: Actor,
    settings: IssuerSettings,
    program_id: int,
    *,
    old_key_lost: bool = False,
    now: dt.datetime | None = None,
) -> IssuerKey:
    """Retire the current key (it stays published) and make a new one; audited.

    Refused when ``CREDENTIAL_KEY`` cannot decrypt the current key (most likely a mistyped setting),
    unless ``old_key_lost`` says the old ``CREDENTIAL_KEY`` is gone for good."""
    now = now or utcnow()
    _program(session, program_id, lock=True)
    old = current_key(session, program_id)
    if old is not None:
        if not old_key_lost:
            private_key(settings.secret, old)
        old.retired_at = now
        session.flush()
    key = _new_key(session, actor, settings, program_id, "credential.key_rotate", now)
    if old is not None:
        audit.record(
            session, actor, "credential.key_retire", object_type="issuer_key", object_id=old.id,
            program_id=program_id, detail={"replaced_by": key.id, "old_key_lost": old_key_lost},
        )  # fmt: skip
    return key


def find_key(
    session: Session, settings: IssuerSettings, verification_method: str
) -> tuple[Program, IssuerKey] | None:
    """The program and key a verification method URL of this service names (None if it names none)."""
    prefix = settings.root + "/credentials/issuers/"
    if not verification_method.startswith(prefix):
        return None
    slug, hash_, multibase = verification_method[len(prefix) :].partition("#")
    if not hash_ or not slug or "/" in slug:
        return None
    program = session.scalar(select(Program).where(Program.slug == slug))
    if program is None:
        return None
    key = session.scalar(
        select(IssuerKey).where(
            IssuerKey.program_id == program.id, IssuerKey.public_key_multibase == multibase
        )
    )
    return (program, key) if key is not None else None


def issuer_summary(settings: IssuerSettings, program: Program) -> dict[str, Any]:
    """The issuer as embedded in a credential: id, type, name, url (what the profile says, in short)."""
    return {
        "id": settings.issuer_id(program.slug),
        "type": ["Profile"],
        "name": program.name,
        "url": settings.root + "/",
    }


def issuer_profile(session: Session, settings: IssuerSettings, program: Program) -> dict[str, Any]:
    """The public ``Profile`` document of the program's issuer, with every key it has signed with."""
    issuer = settings.issuer_id(program.slug)
    methods = [
        {
            "id": settings.verification_method(program.slug, key),
            "type": "Multikey",
            "controller": issuer,
            "publicKeyMultibase": key.public_key_multibase,
        }
        for key in keys_of(session, program.id)
    ]
    return {
        "@context": [di.VC_V2, di.OB_V3, di.MULTIKEY_V1],
        **issuer_summary(settings, program),
        "description": (
            f"{program.name} certifies the assessors who score its micro-credentials, after they show "
            "agreement with the master key on anchor submissions scored blind."
        ),
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }
