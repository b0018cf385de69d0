"""The push channel against a real local HTTP endpoint (Apprise's json:// and ntfy:// schemes)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from syncd.model import Alert, AlertKind, Direction
from syncd.notify.base import Notification
from syncd.notify.push import PushNotifier, check_push_url, push_body
from tests.http_sink import HttpSink

TOKEN = "tk_s3cr3tT0kenValue"
PASSWORD = "hunter2pass"


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as s:
        yield s


def note(name: str = "Priya", email: str | None = "priya@example.org") -> Notification:
    alert = Alert(AlertKind.LAPSE, 1, name, email, Direction.SENT, datetime(2026, 1, 1, tzinfo=UTC))
    return Notification(
        summary=f"Write to {name}", body=f"{name}: 40 days since you wrote", alerts=(alert,)
    )  # type: ignore[arg-type]


def test_json_endpoint_receives_exactly_what_was_delivered(sink: HttpSink) -> None:
    channel = PushNotifier(f"json://127.0.0.1:{sink.port}/hook", connect_timeout=5, read_timeout=5)
    assert channel.deliver(note("Priya"))
    assert channel.deliver(note("Bob", email=None))
    assert [(r.method, r.path) for r in sink.requests] == [("POST", "/hook")] * 2
    payloads = [json.loads(r.body) for r in sink.requests]
    assert [(p["title"], p["message"]) for p in payloads] == [
        ("Write to Priya", "Priya: 40 days since you wrote\nmailto:priya@example.org"),
        ("Write to Bob", "Bob: 40 days since you wrote"),
    ]
    assert channel.pending_actions() == []
    assert channel.open_uri("mailto:x@example.org") is False
    channel.close()


def test_ntfy_endpoint_gets_title_and_body(sink: HttpSink) -> None:
    channel = PushNotifier(f"ntfy://127.0.0.1:{sink.port}/weakties-topic")
    assert channel.deliver(note())
    assert len(sink.requests) == 1
    req = sink.requests[0]
    assert req.method == "POST"
    body = req.body.decode()
    assert "Priya: 40 days since you wrote" in body
    assert "mailto:priya@example.org" in body
    headers = {k.lower(): v for k, v in req.headers.items()}
    title = headers.get("x-title") or json.loads(body).get("title")
    assert title == "Write to Priya"


def test_server_error_is_a_failed_delivery(sink: HttpSink) -> None:
    sink.status = 500
    channel = PushNotifier(f"json://127.0.0.1:{sink.port}/hook")
    assert channel.deliver(note()) is False
    sink.status = 200
    assert channel.deliver(note()) is True  # the retry on the next check gets through
    assert len(sink.requests) == 2


def test_unreachable_endpoint_is_a_failed_delivery(sink: HttpSink) -> None:
    port = sink.port
    sink.stop()
    channel = PushNotifier(f"json://127.0.0.1:{port}/hook", connect_timeout=2, read_timeout=2)
    assert channel.deliver(note()) is False


@pytest.mark.parametrize("status", [200, 500])
def test_no_secret_in_any_log_line(
    sink: HttpSink, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    sink.status = status
    caplog.set_level(logging.DEBUG)  # root and every child: ours, apprise's, urllib3's
    url = f"json://alice:{PASSWORD}@127.0.0.1:{sink.port}/hook/{TOKEN}?token={TOKEN}"
    channel = PushNotifier(url)
    assert channel.deliver(note()) is (status == 200)
    ntfy = PushNotifier(f"ntfy://127.0.0.1:{sink.port}/topic?auth=token&token={TOKEN}")
    ntfy.deliver(note())
    assert len(sink.requests) == 2  # the secrets did travel to the server
    assert TOKEN in sink.requests[0].path
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "apprise" in text  # Apprise did log at DEBUG, so the check below means something
    assert TOKEN not in text and PASSWORD not in text
    assert TOKEN not in repr(channel) and PASSWORD not in channel.masked_url


def test_unknown_scheme_refused_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError) as info:
        check_push_url(f"nosuchsvc://user:{PASSWORD}@example.org/{TOKEN}")
    msg = str(info.value)
    assert "nosuchsvc" in msg and "\n" not in msg
    assert TOKEN not in msg and PASSWORD not in msg
    with pytest.raises(ValueError):
        PushNotifier(f"nosuchsvc://{TOKEN}")
    with pytest.raises(ValueError, match="scheme://"):
        check_push_url(TOKEN)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in text and PASSWORD not in text


def test_known_scheme_but_malformed_is_refused_without_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError) as info:
        check_push_url(f"tgram://{TOKEN}")  # a Telegram URL needs bottoken/chatid
    assert "tgram" in str(info.value) and TOKEN not in str(info.value)
    assert TOKEN not in "\n".join(r.getMessage() for r in caplog.records)


def test_check_push_url_returns_the_masked_form() -> None:
    shown = check_push_url(f"ntfy://127.0.0.1:9/topic?auth=token&token={TOKEN}")
    assert shown.startswith("ntfy://") and TOKEN not in shown


def test_body_without_alert_email_has_no_link() -> None:
    assert push_body(note(email=None)) == "Priya: 40 days since you wrote"
