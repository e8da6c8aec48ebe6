"""The mail module: multipart bodies, the log backend never logs bodies or links, config checks."""

from __future__ import annotations

import logging

import pytest

from calibration.notify.mail import LogMailer, Mail, SMTPMailer, build_message, mailer_from_config

SECRET_LINK = "https://example.test/invitation/SECRET-TOKEN"
MAIL = Mail(
    to="a@example.test", subject="Hello", text=f"Open {SECRET_LINK}", html=f'<a href="{SECRET_LINK}">x</a>'
)


def test_message_has_plain_text_and_html():
    msg = build_message(MAIL, sender="Calibration <c@example.test>")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"].endswith("@example.test>")


def test_log_backend_logs_recipient_and_subject_only(caplog):
    with caplog.at_level(logging.DEBUG):
        LogMailer("c@example.test").send(MAIL)
    assert "a@example.test" in caplog.text and "Hello" in caplog.text
    assert "SECRET-TOKEN" not in caplog.text


def test_smtp_delivers_to_a_real_server(smtp_sink, caplog):
    with caplog.at_level(logging.DEBUG):
        SMTPMailer("127.0.0.1", smtp_sink.port, "c@example.test", security="none").send(MAIL)
    [msg] = smtp_sink.messages
    assert msg["Subject"] == "Hello" and SECRET_LINK in msg.get_body(("plain",)).get_content()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("calibration")]  # not the sink's
    assert ours and not any("SECRET-TOKEN" in line for line in ours)


def test_config_is_checked():
    assert isinstance(mailer_from_config({}), LogMailer)
    smtp = mailer_from_config({"MAIL_BACKEND": "smtp", "MAIL_PORT": "465", "MAIL_SECURITY": "ssl"})
    assert isinstance(smtp, SMTPMailer) and smtp.port == 465 and smtp.security == "ssl"
    with pytest.raises(ValueError, match="MAIL_BACKEND"):
        mailer_from_config({"MAIL_BACKEND": "pigeon"})
    with pytest.raises(ValueError, match="MAIL_SECURITY"):
        mailer_from_config({"MAIL_BACKEND": "smtp", "MAIL_SECURITY": "tls"})


def test_outbox_backend_writes_each_mail_as_an_eml_file(tmp_path):
    """``make run`` uses it: the invitation can be opened and its link followed, with no mail server."""
    import email
    import email.policy

    from calibration.notify.mail import Mail, OutboxMailer

    mailer = mailer_from_config(
        {"MAIL_BACKEND": "outbox", "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"), "MAIL_SENDER": "a@b.test"}
    )
    assert isinstance(mailer, OutboxMailer)
    mailer.send(
        Mail(
            to="new@demo.test",
            subject="You are invited",
            text="Open http://x/invitation/abc",
            html="<p>hi</p>",
        )
    )
    (path,) = (tmp_path / "outbox").glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "new@demo.test" and msg["Subject"] == "You are invited"
    assert "http://x/invitation/abc" in msg.get_body(("plain",)).get_content()
