"""Small builders the tests share: raw messages, config files, running the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from connectors.base import Connector, EventRecord, HeaderRecord
from syncd.cli import main
from tests.dovecot import Dovecot, ImapUser


def message(
    sender: str,
    to: str = "",
    *,
    subject: str = "hi",
    date: datetime | str | None = None,
    message_id: str | None = None,
    cc: str = "",
    bcc: str = "",
    extra: str = "",
) -> bytes:
    """A small RFC 5322 message; ``date=None`` leaves the Date header out."""
    lines = [f"From: {sender}"]
    if to:
        lines.append(f"To: {to}")
    if cc:
        lines.append(f"Cc: {cc}")
    if bcc:
        lines.append(f"Bcc: {bcc}")
    lines.append(f"Subject: {subject}")
    if date is not None:
        lines.append(f"Date: {date if isinstance(date, str) else format_datetime(date)}")
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if extra:
        lines.extend(extra.strip().splitlines())
    lines += [
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "SECRET BODY TEXT that weakties must never read.",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def day(n: int, hour: int = 12) -> datetime:
    """A fixed date in 2025 (day ``n`` of March), so tests never depend on today."""
    return datetime(2025, 3, n, hour, 0, tzinfo=UTC)


@dataclass
class Env:
    """A config file plus a database for one test, and a way to run the CLI on them."""

    config: Path
    db: Path

    def __post_init__(self) -> None:
        self.db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # never created for us

    def run(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            main,
            ["--config", str(self.config), *args],
            input=input,
            env={"WEAKTIES_DB": f"sqlite:///{self.db}"},
            catch_exceptions=False,
        )

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def imap_account(
    dovecot: Dovecot,
    user: ImapUser,
    name: str = "mail",
    *,
    password: str | None = None,
    **settings: Any,
) -> str:
    """An [[account]] table for the test Dovecot (password via password_command)."""
    values: dict[str, Any] = {
        "name": name,
        "type": "imap",
        "host": dovecot.host,
        "port": dovecot.tls_port,
        "ca_file": str(dovecot.ca_file),
        "username": user.username,
        "password_command": ["printf", "%s", password or user.password],
    }
    values.update(settings)
    values = {k: v for k, v in values.items() if v is not None}
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
    return f"[[account]]\n{body}\n"


def make_env(
    tmp_path: Path, *accounts: str, identity: tuple[str, ...] = (), extra: str = ""
) -> Env:
    ids = json.dumps(list(identity))
    config = tmp_path / "config.toml"
    config.write_text(f"[identity]\naddresses = {ids}\n{extra}\n" + "\n".join(accounts))
    return Env(config=config, db=tmp_path / "db" / "weakties.db")


def event_pass(
    connector: Connector, state: dict[str, dict[str, Any]], limit: int | None = None
) -> tuple[list[EventRecord], list[str]]:
    """One pass of a calendar connector (or its first ``limit`` batches): its events
    and removed hrefs, applying each batch's state as the store would (an empty
    scope is forgotten)."""
    events: list[EventRecord] = []
    removed: list[str] = []
    for count, batch in enumerate(connector.batches(state), 1):
        assert batch.records == []  # a calendar yields events, never mail headers
        events += batch.events
        removed += batch.removed
        for scope, value in batch.state.items():
            if value:
                state[scope] = value
            else:
                state.pop(scope, None)
        if limit is not None and count >= limit:
            break
    return events, removed


def one_pass(
    connector: Connector, state: dict[str, dict[str, Any]], limit: int | None = None
) -> list[HeaderRecord]:
    """One sync pass of a connector (or its first ``limit`` batches), applying each
    batch's state as the store would."""
    records: list[HeaderRecord] = []
    for count, batch in enumerate(connector.batches(state), 1):
        records += batch.records
        state.update(batch.state)
        if limit is not None and count >= limit:
            break
    return records


def now() -> datetime:
    return datetime.now(UTC)
