"""Open Badges 3.0 credentials of assessor certification: issuer keys and issued credentials.

Each program signs with an Ed25519 key of its own (:class:`IssuerKey`); the private half is stored
encrypted with a key from the environment (``CREDENTIAL_KEY``), never in the clear. A rotated key is
retired, not deleted: credentials it signed keep verifying against its published public half.

Each credential (:class:`IssuedCredential`) keeps the signed document as issued and its place in the
program's status list (``status_index``); revoking it sets ``revoked_at``, which flips that bit in the
published list at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class IssuerKey(Base):
    __tablename__ = "issuer_key"
    __table_args__ = (UniqueConstraint("program_id", "public_key_multibase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    # The Multikey form of the public key ("z6Mk..."); also the fragment of its verification method.
    public_key_multibase: Mapped[str] = mapped_column(String(100))
    # The 32-byte private seed, encrypted (AES-GCM, key derived from CREDENTIAL_KEY), base64.
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a newer key replaced it: it signs nothing new but stays published.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IssuedCredential(Base):
    __tablename__ = "issued_credential"
    __table_args__ = (UniqueConstraint("program_id", "status_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The random part of the credential's public URL (its ``id``): unguessable, never an integer.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("issuer_key.id"))
    status_index: Mapped[int] = mapped_column(Integer)
    # The round whose result the evidence summarises (None: carried over from an earlier credential).
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    awarded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The signed OpenBadgeCredential exactly as issued (JSON text).
    document: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(300))
