"""The Gmail connector against the local Gmail API stand-in (real googleapiclient, real HTTP).

Waits (quota and backoff) go to a recording fake sleep, so nothing here sleeps.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connectors import gmail
from connectors.base import HEADER_FIELDS, AuthError, FolderRole, HeaderRecord
from connectors.pacing import Backoff, TokenBucket, parse_retry_after
from syncd import cli, config, engine
from syncd.rules import identities, interactions
from syncd.store import open_store
from tests.gmail_standin import GmailStandin
from tests.helpers import one_pass

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ME = "me@example.com"


def mail(n: int, sender: str | None = None, to: str = ME, extra: str = "") -> str:
    sender = sender or f"Person {n} <p{n}@example.org>"
    return (
        f"From: {sender}\nTo: {to}\nDate: Sat, 01 Mar 2025 09:{n % 60:02d}:00 +0000\n"
        f"Message-ID: <m{n}@example.org>\nSubject: note {n}\n"
        f"X-Secret-Header: not for weakties\n{extra}"
    )


class FakeTime:
    """A clock that only moves when something sleeps; records the sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def standin() -> Iterator[GmailStandin]:
    with GmailStandin(ME) as s:
        yield s


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make(
    standin: GmailStandin,
    fake_time: FakeTime,
    info: dict[str, Any] | None = None,
    saved: list[str] | None = None,
    quota: int = 5000,
    batch_size: int = 50,
) -> gmail.GmailConnector:
    settings = gmail.GmailSettings(
        client_secrets="unused.json", api_endpoint=standin.url, quota_per_minute=quota
    )
    return gmail.connect(
        settings,
        json.dumps(info or standin.authorized_user()),
        save_token=saved.append if saved is not None else None,
        auth_hint="run 'weakties auth test' again",
        batch_size=batch_size,
        backoff=Backoff(base=1.0, rand=lambda: 0.5),
        sleep=fake_time.sleep,
        bucket=TokenBucket(quota, clock=fake_time.clock, sleep=fake_time.sleep),
    )


def message_ids(records: list[HeaderRecord]) -> list[str]:
    out = []
    for r in records:
        for line in r.headers.decode().split("\r\n"):
            if line.startswith("Message-ID: "):
                out.append(line[12:])
    return out


# --- full sync --------------------------------------------------------------


def test_full_sync_maps_labels_headers_and_internal_date(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    standin.add(mail(1), ["INBOX", "UNREAD"], T0)
    standin.add(mail(2, sender=ME, to="bob@example.org"), ["SENT"], T0 + timedelta(hours=1))
    standin.add(mail(3, sender=ME, to="carol@example.org"), ["DRAFT"], T0 + timedelta(hours=2))
    standin.add(mail(4), ["SPAM"], T0 + timedelta(hours=3))
    standin.add(mail(5), ["TRASH"], T0 + timedelta(hours=4))
    standin.add(mail(6), ["CATEGORY_PERSONAL"], T0 + timedelta(hours=5))  # archived
    standin.add(mail(7), ["SENT", "TRASH"], T0 + timedelta(hours=6))

    with make(standin, fake_time) as connector:
        records = one_pass(connector, {})

    by_id = {mid: r for r, mid in zip(records, message_ids(records), strict=True)}
    # Spam and trash are not even listed; drafts are, and never count.
    assert sorted(by_id) == [
        "<m1@example.org>",
        "<m2@example.org>",
        "<m3@example.org>",
        "<m6@example.org>",
    ]
    assert by_id["<m1@example.org>"].role is FolderRole.NORMAL
    assert by_id["<m2@example.org>"].role is FolderRole.SENT
    assert by_id["<m3@example.org>"].role is FolderRole.DRAFTS
    assert by_id["<m6@example.org>"].folder == "All Mail"
    assert by_id["<m1@example.org>"].server_time == T0
    headers = by_id["<m1@example.org>"].headers
    assert b"X-Secret-Header" not in headers and headers.endswith(b"\r\n\r\n")
    assert headers.startswith(b"From: Person 1 <p1@example.org>\r\nTo: me@example.com\r\n")


def test_label_roles_drafts_spam_trash_win_over_sent() -> None:
    assert gmail.labels_role(["SENT", "INBOX"]) is FolderRole.SENT
    assert gmail.labels_role(["SENT", "DRAFT"]) is FolderRole.DRAFTS
    assert gmail.labels_role(["SENT", "SPAM"]) is FolderRole.JUNK
    assert gmail.labels_role(["SENT", "TRASH"]) is FolderRole.TRASH
    assert gmail.labels_role(["INBOX", "IMPORTANT"]) is FolderRole.NORMAL


def test_header_block_unfolds_filters_and_keeps_utf8() -> None:
    block = gmail.header_block(
        [
            {"name": "Subject", "value": "Grüße\r\n  aus Köln"},
            {"name": "Received", "value": "from somewhere"},
            {"name": "list-id", "value": "<news.example.org>"},
        ]
    )
    assert block == "Subject: Grüße aus Köln\r\nlist-id: <news.example.org>\r\n\r\n".encode()


def test_lone_surrogates_from_json_never_raise_and_are_never_stored() -> None:
    """Valid JSON may carry "\\ud800": the block is still written, the rules read it clean."""
    message = json.loads(
        '{"id": "18c0ffee", "labelIds": ["INBOX"], "internalDate": "1741600000000",'
        ' "payload": {"headers": ['
        '{"name": "From", "value": "Pr\\ud800iya <priya@example.org>"},'
        '{"name": "Subject", "value": "hi \\udcff\\u0000 there"},'
        '{"name": "Date", "value": "Mon, 10 Mar 2025 09:00:00 +0000"}]}}'
    )
    record = gmail.to_record(message)
    assert record.uid == "18c0ffee"
    [found] = interactions(record, identities(["me@example.com"]))
    assert found.address == "priya@example.org"
    for text in (found.name, found.subject or ""):
        text.encode("utf-8")
        assert "\0" not in text and "\ufffd" in text


def test_batches_are_bounded_and_sent_to_the_configured_endpoint(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    for n in range(120):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    with make(standin, fake_time) as connector:
        records = one_pass(connector, {})
        assert len(records) == 120
        assert connector.batch_uri == f"{standin.url}/batch/gmail/v1"
        assert connector.stats.calls == {"getProfile": 1, "messages.list": 1, "messages.get": 120}
        assert connector.stats.units == 1 + 5 + 120 * 5
    gets = standin.calls_of("messages.get")
    assert len(gets) == 120 and all(c["part"] for c in gets)
    assert standin.max_batch_parts == 50
    # one token refresh, profile, one list page, three batch requests
    assert standin.http_requests == 1 + 1 + 1 + 3


def test_no_body_and_no_query_is_ever_requested(standin: GmailStandin, fake_time: FakeTime) -> None:
    for n in range(30):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    state: dict[str, dict[str, Any]] = {}
    with make(standin, fake_time) as connector:
        one_pass(connector, state)
        standin.add(mail(99))
        standin.expire_history()
        standin.add(mail(100))
        one_pass(connector, state)  # history 404 -> full sync again
        standin.add(mail(101))
        one_pass(connector, state)  # incremental
    gets = standin.calls_of("messages.get")
    assert len(gets) == 30 + 32 + 1
    for call in gets:
        assert call["query"]["format"] == ["metadata"]
        assert call["query"]["metadataHeaders"] == list(HEADER_FIELDS)
    assert not [c for c in standin.calls if "q" in c["query"]]
    assert {c["method"] for c in standin.calls} == {
        "getProfile",
        "messages.list",
        "messages.get",
        "history.list",
    }


def test_standin_refuses_what_the_metadata_scope_forbids(standin: GmailStandin) -> None:
    message_id = standin.add(mail(1))
    token = standin.authorized_user(with_access_token=True)["token"]

    def get(path: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            f"{standin.url}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    for path in (
        f"/gmail/v1/users/me/messages/{message_id}",
        f"/gmail/v1/users/me/messages/{message_id}?format=raw",
        "/gmail/v1/users/me/messages?q=from:someone",
    ):
        status, body = get(path)
        assert status == 403
        assert body["error"]["status"] == "PERMISSION_DENIED"
        assert body["error"]["errors"][0]["reason"] == "forbidden"
    status, _ = get(f"/gmail/v1/users/me/messages/{message_id}?format=metadata")
    assert status == 200


# --- incremental sync ---------------------------------------------------------


def test_incremental_reads_history_and_fetches_only_added(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    for n in range(10):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    state: dict[str, dict[str, Any]] = {}
    with make(standin, fake_time) as connector:
        one_pass(connector, state)
        assert state == {"history": {"history_id": str(standin.history_id)}}
        existing = next(iter(standin.messages))
        standin.relabel(existing, ["STARRED"])  # not an addition: not fetched
        new = [standin.add(mail(n), ["INBOX"]) for n in (20, 21, 22)]
        standin.reset_counters()
        records = one_pass(connector, state)
        assert message_ids(records) == [
            "<m20@example.org>",
            "<m21@example.org>",
            "<m22@example.org>",
        ]
        assert connector.stats.calls == {"history.list": 1, "messages.get": 3}
        assert connector.stats.units == 2 + 15
    assert [c["path"].rsplit("/", 1)[1] for c in standin.calls_of("messages.get")] == new
    history_call = standin.calls_of("history.list")[0]["query"]
    assert history_call["historyTypes"] == ["messageAdded"]
    assert state == {"history": {"history_id": str(standin.history_id)}}


def test_a_pass_with_nothing_new_costs_one_history_call(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    standin.add(mail(1))
    state: dict[str, dict[str, Any]] = {}
    with make(standin, fake_time) as connector:
        one_pass(connector, state)
        standin.reset_counters()
        assert one_pass(connector, state) == []
        assert connector.stats.units == 2 and connector.stats.requests == 1
    assert standin.http_requests == 1


def test_expired_history_resyncs_fully_without_double_counting(
    standin: GmailStandin, fake_time: FakeTime, tmp_path: Path
) -> None:
    for n in range(12):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    store = open_store(f"sqlite:///{tmp_path / 'w.db'}")
    me = identities([ME])

    def sync(connector: gmail.GmailConnector) -> int:
        new = 0
        for batch in connector.batches(store.load_state("g")):
            found = [i for r in batch.records for i in interactions(r, me)]
            new += store.save_batch("g", found, batch.state, datetime.now(UTC))
        return new

    with make(standin, fake_time) as connector:
        assert sync(connector) == 12
        standin.add(mail(50), ["INBOX"], T0 + timedelta(days=1))
        standin.expire_history()
        standin.add(mail(51), ["INBOX"], T0 + timedelta(days=2))
        assert sync(connector) == 2  # a full re-read: 14 messages, 2 new interactions
        assert connector.stats.calls["messages.get"] == 14
        assert connector.stats.calls["history.list"] == 1
        assert sync(connector) == 0
        assert connector.stats.calls == {"history.list": 1}
    store.close()


def test_message_deleted_before_fetch_is_skipped(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    standin.add(mail(1))
    state: dict[str, dict[str, Any]] = {}
    with make(standin, fake_time) as connector:
        one_pass(connector, state)
        gone = standin.add(mail(2))
        standin.add(mail(3))
        standin.delete(gone)  # history still lists its messageAdded
        assert message_ids(one_pass(connector, state)) == ["<m3@example.org>"]
    assert state["history"]["history_id"] == str(standin.history_id)


# --- resuming -------------------------------------------------------------------


def test_full_sync_interrupted_resumes_after_what_was_stored(
    standin: GmailStandin, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gmail, "LIST_PAGE", 25)
    for n in range(60):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    state: dict[str, dict[str, Any]] = {}
    with make(standin, fake_time, batch_size=10) as connector:
        # pages of 25 are fetched 10 + 10 + 5: four batches are page 1 and 10 of page 2
        first = one_pass(connector, state, limit=4)  # ... then the pass dies
    cursor = state["history"]["full"]
    assert cursor["done"] == 10 and cursor["page_token"]
    standin.add(mail(90), ["INBOX"], T0 + timedelta(days=1))  # arrives meanwhile
    with make(standin, fake_time, batch_size=10) as connector:
        rest = one_pass(connector, state)
        assert connector.stats.calls["messages.get"] == 25
        later = one_pass(connector, state)  # picks up what arrived during the full sync
    seen = message_ids(first) + message_ids(rest)
    assert len(seen) == len(set(seen)) == 60
    assert message_ids(later) == ["<m90@example.org>"]


def test_incremental_interrupted_keeps_a_safe_cursor(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    standin.add(mail(0))
    state: dict[str, dict[str, Any]] = {}
    with make(standin, fake_time, batch_size=4) as connector:
        one_pass(connector, state)
        for n in range(1, 11):
            standin.add(mail(n))
        first = one_pass(connector, state, limit=1)
        assert len(first) == 4
        rest = one_pass(connector, state)
    assert message_ids(first) + message_ids(rest) == [f"<m{n}@example.org>" for n in range(1, 11)]


def test_refused_page_token_restarts_the_full_sync(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    for n in range(5):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    state: dict[str, dict[str, Any]] = {
        "history": {"full": {"start_history_id": "1", "page_token": "bm9wZQ", "done": 3}}
    }
    with make(standin, fake_time) as connector:
        assert len(one_pass(connector, state)) == 5
    assert state == {"history": {"history_id": str(standin.history_id)}}


# --- faults and quota -------------------------------------------------------------


def test_rate_limit_bursts_and_server_errors_are_survived(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    for n in range(40):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    standin.fail(1, 429, "single", retry_after="7")  # getProfile...
    standin.fail(1, 403, "single", retry_after=None)  # ...its retry: userRateLimitExceeded
    standin.fail(1, 500, "batch", retry_after=None)  # the whole first batch request
    standin.fail(15, 429, "part", retry_after="3")  # a burst inside the batch
    with make(standin, fake_time, batch_size=20) as connector:
        records = one_pass(connector, {})
        assert connector.stats.retries == 4
    assert len(set(message_ids(records))) == 40
    # Retry-After honoured; exponential backoff where there was none.
    assert fake_time.sleeps == [7.0, 1.5, 0.75, 3.0]


def test_other_errors_are_not_retried_and_read_clearly(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    standin.add(mail(1))
    with make(standin, fake_time) as connector:
        # a 403 that is not a rate limit (Workspace admin disabled API access) is final
        standin.fail(1, 403, "single", retry_after=None, reason="domainPolicy")
        with pytest.raises(
            gmail.ConnectorError, match="Gmail API 403 for /gmail/v1/users/me/profile: The domain"
        ):
            one_pass(connector, {})
    assert fake_time.sleeps == []


def test_giving_up_after_the_retries(standin: GmailStandin, fake_time: FakeTime) -> None:
    standin.add(mail(1))
    standin.fail(100, 503, "part", retry_after=None)
    with (
        make(standin, fake_time) as connector,
        pytest.raises(gmail.ConnectError, match="kept refusing"),
    ):
        one_pass(connector, {})
    assert len(fake_time.sleeps) == 7
    assert fake_time.sleeps[-1] == 48.0  # the 64 s cap, times the jitter (0.75 here)


def test_quota_bucket_paces_a_big_sync(standin: GmailStandin, fake_time: FakeTime) -> None:
    for n in range(200):
        standin.add(mail(n), ["INBOX"], T0 + timedelta(minutes=n))
    with make(standin, fake_time, quota=600) as connector:  # 10 units/s, burst 100
        one_pass(connector, {})
        units = connector.stats.units
    assert units == 1 + 5 + 200 * 5
    # Everything past the initial burst was paid for at 10 units per second.
    assert fake_time.now == pytest.approx((units - 100) / 10, abs=25)
    assert fake_time.now >= (units - 100 - 250) / 10


def test_token_bucket_arithmetic() -> None:
    t = FakeTime()
    bucket = TokenBucket(60, burst=10, clock=t.clock, sleep=t.sleep)  # 1 unit/s
    assert bucket.take(10) == 0
    assert bucket.take(5) == 5.0
    t.now += 3
    assert bucket.take(5) == 2.0
    assert bucket.take(50) == 10.0  # dearer than the burst: waits for a full bucket
    assert bucket.take(1) == 41.0  # and the overdraft is paid back


def test_backoff_and_retry_after() -> None:
    backoff = Backoff(base=1.0, cap=8.0, rand=lambda: 1.0)
    assert [backoff.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.delay(0, retry_after=5.0) == 5.0
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None


# --- OAuth ------------------------------------------------------------------------


def test_token_uri_is_honoured_and_refreshed_token_handed_back(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    standin.add(mail(1))
    info = standin.authorized_user()
    saved: list[str] = []
    with make(standin, fake_time, info=info, saved=saved) as connector:
        one_pass(connector, {})
    assert standin.token_requests == 1
    assert len(saved) == 1
    stored = json.loads(saved[0])
    assert stored["token"] in standin.access_tokens
    assert stored["token_uri"] == standin.token_uri
    assert stored["refresh_token"] == info["refresh_token"]


def test_expired_access_token_is_refreshed_mid_pass(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    for n in range(3):
        standin.add(mail(n))
    state: dict[str, dict[str, Any]] = {}
    saved: list[str] = []
    with make(standin, fake_time, saved=saved) as connector:
        one_pass(connector, state)
        standin.expire_access_tokens()  # Google rejects it before its expiry says so
        standin.add(mail(9))
        assert message_ids(one_pass(connector, state)) == ["<m9@example.org>"]
    assert standin.token_requests == 2 and len(saved) == 2


def test_revoked_refresh_token_is_one_clear_auth_error(
    standin: GmailStandin, fake_time: FakeTime
) -> None:
    standin.add(mail(1))
    info = standin.authorized_user()
    standin.revoke(info["refresh_token"])
    with make(standin, fake_time, info=info) as connector, pytest.raises(AuthError) as caught:
        one_pass(connector, {})
    assert str(caught.value) == (
        "Google refused the saved authorization (revoked or expired); "
        "run 'weakties auth test' again"
    )


def test_unusable_token_json_is_an_auth_error() -> None:
    with pytest.raises(AuthError, match="missing client_secret"):
        gmail.credentials_from_json('{"refresh_token": "r", "client_id": "c"}')


# --- config, engine, CLI ----------------------------------------------------------


def write_config(tmp_path: Path, standin: GmailStandin, names: list[str]) -> Path:
    text = f'[identity]\naddresses = ["{ME}"]\n[database]\nurl = "sqlite:///{tmp_path}/w.db"\n'
    for name in names:
        text += (
            f'[[account]]\nname = "{name}"\ntype = "gmail"\n'
            f'client_secrets = "{tmp_path}/client_secret.json"\n'
            f'token_file = "{tmp_path}/{name}.json"\napi_endpoint = "{standin.url}"\n'
        )
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_validates_gmail_accounts(tmp_path: Path) -> None:
    account = {"name": "g", "type": "gmail", "client_secrets": "c.json"}
    parsed = config.parse({"account": [account]}, tmp_path / "c.toml")
    settings = parsed.accounts[0].settings
    assert settings.quota_per_minute == 5000 and settings.endpoint == gmail.DEFAULT_ENDPOINT
    with pytest.raises(config.ConfigError, match="quota_per_minute: expected an integer"):
        config.parse({"account": [{**account, "quota_per_minute": "lots"}]}, tmp_path / "c")
    with pytest.raises(config.ConfigError, match="loopback"):
        config.parse(
            {"account": [{**account, "api_endpoint": "http://gmail.example.com"}]}, tmp_path / "c"
        )
    with pytest.raises(config.ConfigError, match="unknown key"):
        config.parse({"account": [{**account, "password": "x"}]}, tmp_path / "c")


def test_engine_reports_a_revoked_account_and_syncs_the_others(
    standin: GmailStandin, tmp_path: Path
) -> None:
    standin.add(mail(1))
    standin.add(mail(2, sender=ME, to="Bob <bob@example.org>"), ["SENT"])
    good, bad = standin.authorized_user(), standin.authorized_user()
    standin.revoke(bad["refresh_token"])
    standin.access_tokens.clear()
    for name, info in (("good", good), ("bad", bad)):
        (tmp_path / f"{name}.json").write_text(json.dumps(info))
    cfg = config.load(write_config(tmp_path, standin, ["bad", "good"]))
    store = open_store(cfg.database_url)
    results = {r.account: r for r in engine.sync_all(store, cfg)}
    assert results["bad"].error == (
        "Google refused the saved authorization (revoked or expired); run 'weakties auth bad' again"
    )
    assert results["good"].ok and results["good"].scanned == 2 and results["good"].new == 2
    refreshed = tmp_path / "good.json"
    assert stat.S_IMODE(refreshed.stat().st_mode) == 0o600
    assert json.loads(refreshed.read_text())["token"] in standin.access_tokens
    store.close()


def test_auth_command_runs_the_consent_flow_and_stores_the_token(
    standin: GmailStandin, tmp_path: Path, consenting_browser: list[str]
) -> None:
    (tmp_path / "client_secret.json").write_text(json.dumps(standin.new_client()))
    path = write_config(tmp_path, standin, ["personal"])
    result = CliRunner().invoke(cli.main, ["--config", str(path), "auth", "personal"])
    assert result.exit_code == 0, result.output
    assert "personal: authorized for me@example.com" in result.output
    [url] = consenting_browser
    assert "scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fgmail.metadata&" in url
    token_file = tmp_path / "personal.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = json.loads(token_file.read_text())
    assert stored["token_uri"] == standin.token_uri
    assert stored["refresh_token"] in standin.refresh_tokens
    assert stored["scopes"] == [gmail.SCOPE]
    # ... and sync works with what was stored.
    standin.add(mail(1))
    result = CliRunner().invoke(cli.main, ["--config", str(path), "sync", "--once"])
    assert result.exit_code == 0, result.output
    assert "personal: 1 messages scanned, 1 new interactions" in result.output


def test_auth_without_client_secrets_says_so(standin: GmailStandin, tmp_path: Path) -> None:
    path = write_config(tmp_path, standin, ["personal"])
    result = CliRunner().invoke(cli.main, ["--config", str(path), "auth", "personal"])
    assert result.exit_code == 1
    assert "client_secret.json: no such file" in result.output
    assert not os.path.exists(tmp_path / "personal.json")
