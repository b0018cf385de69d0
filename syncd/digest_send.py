"""Sending the email digest: its SMTP settings and password, when it goes out, what is recorded.

* Settings come from ``[digest]``; with ``account = "home"`` the IMAP account's
  host name pattern (``imap.`` -> ``smtp.``), username, CA file and password
  are reused where ``[digest]`` does not set its own.
* The password: ``password_command``, else ``password_file`` (a regular 0600
  file of the user's, ``syncd.secrets``), else the keyring entry ``digest``
  (``weakties auth --digest``), else the reused account's. Never logged, never
  in an error.
* :func:`send_digest` composes (``syncd.digest``), sends (``syncd.mailout``)
  and records the send in the database, with the alerts it listed (told on
  every channel by it). :class:`DigestJob` runs it from the daemon when due:
  once per period, once after a missed one, never twice (the last send is in
  the database, so a restart does not repeat it). A failure is one log line
  and is tried again an hour later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from syncd import alerts, digest, lapses, mailout, secrets
from syncd.accounts import entry
from syncd.accounts.base import MailLogin
from syncd.clock import SYSTEM, Clock
from syncd.config import Config
from syncd.errors import ConfigError, SecretError, Unavailable
from syncd.model import Alert, ContactFacts
from syncd.store import Store

log = logging.getLogger("weakties.digest")

KEYRING_ENTRY = "digest"
RETRY_AFTER = timedelta(hours=1)
CHECK_EVERY = 60.0  # seconds between the daemon's looks at whether the digest is due
DEFAULT_PERIOD = timedelta(days=7)  # "coming" when every = "off" (digest --now)


def _where(config: Config) -> str:
    return f"{config.path}: digest"


def _reused(config: Config) -> MailLogin | None:
    """The login of ``[digest] account`` (checked at config load to have one)."""
    if config.digest.account is None:
        return None
    account = config.account(config.digest.account)
    return entry(account).mail_login(account.settings)


def smtp_settings(config: Config) -> mailout.SmtpSettings:
    """The SMTP server and login of the digest; ConfigError (one line) when incomplete."""
    d = config.digest
    host, username, ca_file = d.smtp_host, d.username, d.ca_file
    if (login := _reused(config)) is not None:
        host = host or login.smtp_host
        username = username or login.username
        ca_file = ca_file or login.ca_file
    if host is None:
        raise ConfigError(
            f"{_where(config)}.smtp_host: missing (or account = NAME to reuse an IMAP account)"
        )
    port = d.smtp_port or (465 if d.security == "tls" else 587)
    return mailout.SmtpSettings(
        host=host,
        port=port,
        security=d.security,
        username=username,
        ca_file=Path(ca_file).expanduser() if ca_file else None,
    )


def password(config: Config) -> str | None:
    """The SMTP password (None: the server takes no login); SecretError, one line."""
    d = config.digest
    if d.password_command:
        return secrets.run_password_command(d.password_command, KEYRING_ENTRY)
    if d.password_file:
        return secrets.read_password_file(d.password_file, KEYRING_ENTRY)
    if smtp_settings(config).username is None:
        return None
    stored = secrets.keyring_secret(KEYRING_ENTRY) if d.account is None else None
    if stored is not None:
        return stored
    if (login := _reused(config)) is not None:
        assert d.account is not None
        return secrets.get_secret(d.account, login.password_command, login.password_file)
    raise SecretError(
        "digest: no SMTP password stored; run 'weakties auth --digest' "
        "or set password_command or password_file in [digest]"
    )


@dataclass(frozen=True)
class DigestOutcome:
    message: EmailMessage | None  # None: nothing to say
    sent: bool


def compose(store: Store, config: Config, now: datetime) -> EmailMessage | None:
    d = config.digest
    if not d.to:
        raise ConfigError(f"{_where(config)}.to: missing (whom to send the digest to)")
    contacts = store.contacts()
    # the subject of the mail each reply is owed to, when subjects are stored
    subjects = {
        a.contact_id: a.subject
        for a in alerts.with_subjects(store, _alerts(contacts, config, now))
        if a.subject
    }
    return digest.compose_digest(
        contacts,
        config,
        now,
        period=d.period or DEFAULT_PERIOD,
        to=d.to,
        sender=d.sender,
        subjects=subjects,
    )


def _alerts(contacts: list[ContactFacts], config: Config, now: datetime) -> list[Alert]:
    found = (lapses.alert_for(f, config, now) for f in contacts)
    return [a for a in found if a is not None]


def _listed(store: Store, config: Config, now: datetime) -> list[Alert]:
    return _alerts(store.contacts(), config, now)


def send_digest(
    store: Store, config: Config, now: datetime | None = None, *, dry_run: bool = False
) -> DigestOutcome:
    """Compose and (unless ``dry_run``) send the digest now, and record it.

    Nothing to say: nothing sent, nothing recorded. Unavailable (one line) when
    the server cannot be reached or refuses; SecretError when no password.
    """
    now = now or datetime.now(UTC)
    message = compose(store, config, now)
    if message is None or dry_run:
        return DigestOutcome(message, sent=False)
    settings = smtp_settings(config)
    secret = password(config)
    try:
        mailout.send(message, settings, secret)
    except mailout.SendError as exc:
        raise Unavailable(f"digest: {exc}") from None
    store.record_digest(now, _listed(store, config, now))
    log.info("digest sent to %s: %s", config.digest.to, message["Subject"])
    return DigestOutcome(message, sent=True)


def _at(config: Config) -> str:
    """``at`` as the schedule reads it: with every = "1d" only its time counts."""
    at = config.digest.at
    return at.split()[-1] if config.digest.every == "1d" else at


def due(store: Store, config: Config, now: datetime, tz: tzinfo | None = None) -> bool:
    """Whether the scheduled digest goes out now."""
    zone = tz or now.astimezone().tzinfo or UTC
    return digest.digest_due(config.digest.period, _at(config), store.digest_sent(), now, zone)


@dataclass
class DigestJob:
    """The daemon's digest: checked every minute, sent when due, a failure retried hourly."""

    store: Store
    config: Config
    clock: Clock = SYSTEM
    failed_at: datetime | None = None

    def __call__(self) -> bool:
        """Send if due; True when a digest went out."""
        now = self.clock.now()
        if self.failed_at is not None and now - self.failed_at < RETRY_AFTER:
            return False
        if not due(self.store, self.config, now, self.clock.local_now().tzinfo):
            return False
        try:
            outcome = send_digest(self.store, self.config, now)
        except (Unavailable, SecretError, ConfigError) as exc:
            log.warning("%s (trying again in an hour)", exc)
            self.failed_at = now
            return False
        self.failed_at = None
        if outcome.message is None:  # nothing to say: this period is done all the same
            self.store.record_digest(now, [])
            log.info("digest: nothing to say this time")
        return outcome.sent


class _Scheduler(Protocol):
    def every(self, interval: float, what: str, run: Callable[[], None], first: float) -> Any: ...


def schedule_digest(
    scheduler: _Scheduler,
    guard: Callable[[str, Callable[[], None]], Callable[[], None]],
    store: Store,
    config: Config,
    clock: Clock = SYSTEM,
) -> DigestJob | None:
    """Add the digest to the daemon's scheduler, checked every minute from the start
    (a digest missed while off goes out at once); nothing when every = "off"."""
    if config.digest.period is None:
        return None
    job = DigestJob(store, config, clock)

    def run() -> None:
        job()

    scheduler.every(CHECK_EVERY, "digest", guard("digest", run), first=0.0)
    return job
