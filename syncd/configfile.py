"""The config file's text: a commented TOML for a new user.

Owns the text ``weakties init`` writes around the accounts (each account's
own table comes from its type's registry entry, ``syncd.accounts``). How it
lands on disk (0600 in a 0700 directory, atomically, the old one kept as ``config.toml.bak``) is
:func:`syncd.files.write_private` with ``keep_backup``. Reading and
validating stays in ``syncd/config.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from syncd.accounts.base import NewAccount, toml_value


def render(
    addresses: list[str], accounts: Sequence[NewAccount], now: datetime | None = None
) -> str:
    """The config text, with a comment on every section; each account's table is the
    text its registry entry wrote (``NewAccount.lines``)."""
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    out = [
        f"# weakties configuration, written by 'weakties init' on {when}. Edit freely:",
        "# every key is checked when weakties starts (see README.md, Configuration).",
        "",
        "[identity]",
        "# Your own addresses: mail from them counts as sent, to them as received.",
        "# Each account's username counts too.",
        f"addresses = {toml_value(addresses)}",
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
        out += account.lines
    return "\n".join(out) + "\n"
