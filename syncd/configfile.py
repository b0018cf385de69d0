"""The config file's text: a commented TOML for a new user.

Owns the text ``weakties init`` writes. How it lands on disk (0600 in a 0700
directory, atomically, the old one kept as ``config.toml.bak``) is
:func:`syncd.files.write_private` with ``keep_backup``. Reading and
validating stays in ``syncd/config.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class ImapAccountDraft:
    name: str
    host: str
    port: int
    security: str
    username: str
    ca_file: str | None = None
    password_command: list[str] | None = None


@dataclass(frozen=True)
class GmailAccountDraft:
    name: str
    client_secrets: str
    api_endpoint: str | None = None  # only for tests and proxies


AccountDraft = ImapAccountDraft | GmailAccountDraft


def _toml(value: object) -> str:
    # TOML basic strings and arrays of them share JSON's syntax.
    return json.dumps(value, ensure_ascii=False)


def _gmail_lines(account: GmailAccountDraft) -> list[str]:
    out = [
        "",
        "[[account]]",
        f"name = {_toml(account.name)}",
        'type = "gmail"',
        "# Your own OAuth desktop client (README.md, Gmail (API)):",
        f"client_secrets = {_toml(account.client_secrets)}",
    ]
    if account.api_endpoint:
        out.append(f"api_endpoint = {_toml(account.api_endpoint)}")
    return [
        *out,
        f'# The authorization is in the system keyring (service "weakties", user '
        f"{_toml(account.name)});",
        f"# 'weakties auth {account.name}' renews it. Or keep it in a file (written 0600):",
        '# token_file = "~/.config/weakties/gmail-token.json"',
        "# Quota units a minute weakties may spend (Google allows 6,000 per user):",
        "# quota_per_minute = 5000",
    ]


def render(addresses: list[str], accounts: list[AccountDraft], now: datetime | None = None) -> str:
    """The config text, with a comment on every section."""
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    out = [
        f"# weakties configuration, written by 'weakties init' on {when}. Edit freely:",
        "# every key is checked when weakties starts (see README.md, Configuration).",
        "",
        "[identity]",
        "# Your own addresses: mail from them counts as sent, to them as received.",
        "# Each account's username counts too.",
        f"addresses = {_toml(addresses)}",
        "",
        "[defaults]",
        "# How often to be in touch with a contact that has no cadence of its own:",
        '# s, min, h, d, w, mo (30 days), y (365 days), or words such as "6 months".',
        'cadence = "180d"',
        "",
        "[privacy]",
        "# false: keep no subjects in the database, only who, when and which way.",
        "store_subjects = true",
        "",
        "# A cadence for everyone with a tag (contacts without a cadence of their own):",
        "# [tags.family]",
        '# cadence = "30d"',
        "",
        "# Where the database lives (default: your XDG data directory; $WEAKTIES_DB wins):",
        "# [database]",
        '# url = "sqlite:////home/me/.local/share/weakties/weakties.db"',
    ]
    for account in accounts:
        if isinstance(account, GmailAccountDraft):
            out += _gmail_lines(account)
            continue
        out += [
            "",
            "[[account]]",
            f"name = {_toml(account.name)}",
            'type = "imap"',
            f"host = {_toml(account.host)}",
            f"port = {account.port}",
            f"security = {_toml(account.security)}            # tls | starttls",
            f"username = {_toml(account.username)}",
        ]
        if account.ca_file:
            out += [
                "# An extra CA certificate to trust (a self-hosted server):",
                f"ca_file = {_toml(account.ca_file)}",
            ]
        if account.password_command:
            out += [
                "# The password is the first line this command prints (run without a shell):",
                f"password_command = {_toml(account.password_command)}",
            ]
        else:
            out += [
                f'# The password is in the system keyring (service "weakties", user '
                f"{_toml(account.name)});",
                f"# 'weakties auth {account.name}' replaces it. Or name a command that prints it:",
                '# password_command = ["pass", "show", "mail/work"]',
            ]
        out += [
            "# Which folders to read (default: all but Drafts, Junk and Trash):",
            '# folders = ["INBOX", "Sent"]',
        ]
    return "\n".join(out) + "\n"
