"""Outgoing mail: plain-text and HTML bodies in one ``EmailMessage``, sent by SMTP or written to the log.

Backends (``MAIL_BACKEND``):

* ``smtp``: the standard library's :mod:`smtplib`, with STARTTLS (``MAIL_SECURITY=starttls``, the
  default), implicit TLS (``ssl``) or neither (``none``, for a relay on the same host), and a login
  when ``MAIL_USERNAME`` is set.
* ``log`` (development default): logs the recipient and subject only. Bodies carry one-time links,
  so they never reach a log.
* ``outbox`` (what ``make run`` uses): writes each message as an ``.eml`` file into ``MAIL_OUTBOX_DIR``
  (``instance/outbox``), so someone trying the demo on their own machine can open an invitation and
  follow its link. Not for production: the files hold live links.

Templates live in ``templates/mail/<template>.txt`` and ``<template>.html``; :func:`render_mail` renders both.
Mail that must not be lost goes through the outbox (:mod:`calibration.notify.outbox`), which uses these
backends to send each stored row after the commit.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import logging
import re
import secrets
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app, render_template

log = logging.getLogger(__name__)

SECURITY_CHOICES = ("starttls", "ssl", "none")


class MailError(RuntimeError):
    """The message could not be handed to the mail server (the text is safe to show)."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail, e.g. an ``.ics`` invitation (``params`` go on its Content-Type)."""

    filename: str
    maintype: str
    subtype: str
    data: bytes
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None  # where replies go, e.g. the trainer who sent an invitation
    message_id: str | None = None  # None: a new one; the outbox gives each row one for every try


# Line breaks, tabs and other control characters (and Unicode's line separators) in a header value.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """``text`` as one header line: every run of line breaks or control characters becomes a space.
    Texts that reach headers are checked to be one line where they are entered; this keeps older
    rows (stored before that check) from breaking a mail, or adding headers to it."""
    return _NOT_ONE_LINE.sub(" ", text).strip()


def build_message(mail: Mail, *, sender: str) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML as the richer part.

    Headers go through the email package's default policy, which encodes non-ASCII text (RFC 2047)
    and folds long lines; subjects and addresses are made one line first (:func:`one_line`)."""
    msg = EmailMessage(policy=email.policy.default)
    msg["From"] = one_line(sender)
    msg["To"] = one_line(mail.to)
    msg["Subject"] = one_line(mail.subject)
    if mail.reply_to:
        msg["Reply-To"] = one_line(mail.reply_to)
    msg["Message-ID"] = mail.message_id or make_msgid(
        domain=sender.rpartition("@")[2].strip("> ") or "localhost"
    )
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    for item in mail.attachments:
        msg.add_attachment(
            item.data,
            maintype=item.maintype,
            subtype=item.subtype,
            filename=item.filename,
            params=dict(item.params),
        )
    return msg


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


@dataclass(frozen=True)
class LogMailer:
    """Development backend: records that a mail would be sent (recipient and subject, never the body)."""

    sender: str

    def send(self, mail: Mail) -> None:
        build_message(mail, sender=self.sender)  # the same checks as a real send
        log.info("mail (log backend, not sent) to=%s subject=%r", mail.to, mail.subject)


@dataclass(frozen=True)
class OutboxMailer:
    """Development backend: each message becomes an ``.eml`` file (any mail program opens it)."""

    sender: str
    directory: str

    def send(self, mail: Mail) -> None:
        msg = build_message(mail, sender=self.sender)
        folder = Path(self.directory)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{stamp}-{secrets.token_hex(3)}.eml"
        path.write_bytes(msg.as_bytes())
        log.info("mail written to %s to=%s subject=%r", path, mail.to, mail.subject)


@dataclass(frozen=True)
class SMTPMailer:
    host: str
    port: int
    sender: str
    security: str = "starttls"
    username: str = ""
    password: str = ""
    timeout: float = 20.0

    def send(self, mail: Mail) -> None:
        msg = build_message(mail, sender=self.sender)
        try:
            context = ssl.create_default_context()
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            # The exception text can quote the server's reply, never our credentials or the body.
            log.warning("mail to %s failed: %s", mail.to, exc.__class__.__name__)
            raise MailError("The mail server could not be reached or refused the message.") from exc
        log.info("mail sent to=%s subject=%r", mail.to, mail.subject)


def mailer_from_config(config: Mapping[str, Any]) -> Mailer:
    """The backend the configuration asks for (``MAIL_BACKEND``: ``log``, ``outbox`` or ``smtp``)."""
    backend = config.get("MAIL_BACKEND", "log")
    sender = config.get("MAIL_SENDER", "Assessor Calibration <no-reply@localhost>")
    if backend == "log":
        return LogMailer(sender)
    if backend == "outbox":
        return OutboxMailer(sender, str(config.get("MAIL_OUTBOX_DIR") or "outbox"))
    if backend != "smtp":
        raise ValueError(f"MAIL_BACKEND must be 'log', 'outbox' or 'smtp', got {backend!r}")
    security = config.get("MAIL_SECURITY", "starttls")
    if security not in SECURITY_CHOICES:
        raise ValueError(f"MAIL_SECURITY must be one of {', '.join(SECURITY_CHOICES)}, got {security!r}")
    return SMTPMailer(
        host=config.get("MAIL_HOST", "localhost"),
        port=int(config.get("MAIL_PORT", 587)),
        sender=sender,
        security=security,
        username=config.get("MAIL_USERNAME", ""),
        password=config.get("MAIL_PASSWORD", ""),
        timeout=float(config.get("MAIL_TIMEOUT_SECONDS", 20)),
    )


def init_app(app: Flask) -> None:
    app.extensions["calibration.mailer"] = mailer_from_config(app.config)


def get_mailer(app: Flask | None = None) -> Mailer:
    mailer: Mailer = (app or current_app).extensions["calibration.mailer"]
    return mailer


def render_mail(
    template: str,
    /,
    *,
    to: str,
    subject: str,
    attachments: tuple[Attachment, ...] = (),
    reply_to: str | None = None,
    **context: Any,
) -> Mail:
    """Render ``mail/<template>.txt`` and ``mail/<template>.html`` (needs an app context)."""
    context = {"subject": subject, **context}
    return Mail(
        to=to,
        subject=subject,
        text=render_template(f"mail/{template}.txt", **context),
        html=render_template(f"mail/{template}.html", **context),
        attachments=attachments,
        reply_to=reply_to,
    )


def send(mail: Mail) -> None:
    get_mailer().send(mail)
