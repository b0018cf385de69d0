"""Sending mail against a real aiosmtpd server with STARTTLS and AUTH (tests/smtp_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from syncd.mailout import SendError, SmtpSettings, send
from tests.dovecot import _free_ports
from tests.smtp_server import HOST, SmtpServer


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def message(subject: str = "weakties digest") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "me@example.org"
    msg["To"] = "me@example.org"
    msg["Subject"] = subject
    msg.set_content("Priya: 40 days\n")
    return msg


def settings(smtp: SmtpServer, **kw: object) -> SmtpSettings:
    base: dict[str, object] = dict(
        host=HOST,
        port=smtp.port,
        security="starttls",
        username=smtp.username,
        ca_file=smtp.ca_file,
        timeout=10,
    )
    base.update(kw)
    return SmtpSettings(**base)  # type: ignore[arg-type]


def test_delivered_over_starttls_with_login(smtp: SmtpServer) -> None:
    before = len(smtp.received)
    send(message("hello 1"), settings(smtp), smtp.password)
    got = smtp.received[before:]
    assert len(got) == 1
    assert got[0].rcpt_tos == ["me@example.org"]
    assert got[0].message["Subject"] == "hello 1"
    assert got[0].message.get_content() == "Priya: 40 days\n"


def test_wrong_password_is_one_line_without_it(smtp: SmtpServer) -> None:
    before = len(smtp.received)
    with pytest.raises(SendError) as info:
        send(message(), settings(smtp), "Wr0ngPassw0rd!")
    text = str(info.value)
    assert "login refused" in text and "alice" in text
    assert "\n" not in text and "Wr0ngPassw0rd!" not in text
    assert len(smtp.received) == before


def test_unreachable_port_is_one_line(smtp: SmtpServer) -> None:
    port = _free_ports(1)[0]
    with pytest.raises(SendError) as info:
        send(message(), settings(smtp, port=port, timeout=3), smtp.password)
    text = str(info.value)
    assert f"{HOST}:{port}" in text and "unreachable" in text and "\n" not in text
    assert smtp.password not in text


def test_untrusted_certificate_is_one_line(smtp: SmtpServer) -> None:
    before = len(smtp.received)
    with pytest.raises(SendError) as info:
        send(message(), settings(smtp, ca_file=smtp.wrong_ca_file), smtp.password)
    text = str(info.value)
    assert "certificate not trusted" in text and "\n" not in text
    assert smtp.password not in text
    assert len(smtp.received) == before


def test_system_trust_store_does_not_trust_the_test_ca(smtp: SmtpServer) -> None:
    with pytest.raises(SendError, match="certificate not trusted"):
        send(message(), settings(smtp, ca_file=None), smtp.password)


def test_implicit_tls_against_a_starttls_port_fails_in_one_line(smtp: SmtpServer) -> None:
    with pytest.raises(SendError) as info:
        send(message(), settings(smtp, security="tls", timeout=3), smtp.password)
    assert "\n" not in str(info.value)


def test_server_refuses_login_before_starttls(smtp: SmtpServer) -> None:
    # the server requires STARTTLS: mailout never sends the password in the clear,
    # so the only way to talk to it is through TLS, which the tests above do.
    import smtplib

    with smtplib.SMTP(HOST, smtp.port, timeout=5) as client:
        client.ehlo()
        assert not client.has_extn("auth")


def test_delivered_over_implicit_tls() -> None:
    with SmtpServer(implicit_tls=True) as server:
        send(message("over tls"), settings(server, security="tls"), server.password)
        assert [r.message["Subject"] for r in server.received] == ["over tls"]
        with pytest.raises(SendError, match="login refused"):
            send(message(), settings(server, security="tls"), "nope-nope")
