"""The ``ics`` account type: an iCalendar file, a directory of them, or an https URL.

Its registry entry: settings (``connectors.ics_settings``), opening (nothing is
fetched before the first batch), ``weakties auth`` (nothing to authorize: a
secret address is its own key), and ``init``'s question.
"""

from __future__ import annotations

import click

from connectors.base import Connector
from connectors.ics_settings import IcsSettings
from syncd.accounts.base import (
    Account,
    AccountType,
    AuthRequest,
    GaveUp,
    NewAccount,
    Questions,
    toml_value,
    unique_name,
)


def _open(account: Account[IcsSettings]) -> Connector:
    from connectors import ics  # icalendar: only when a calendar syncs

    return ics.connect(account.settings)


def _authorize(account: Account[IcsSettings], request: AuthRequest) -> str:
    s = account.settings
    what = "its url is its own key (keep the config private)" if s.url else "it reads a path"
    return f"{account.name}: nothing to authorize for an .ics source; {what}"


def config_lines(name: str, where: str) -> list[str]:
    """The account's commented ``[[account]]`` table (``where``: a URL or a path)."""
    key = "url" if where.lower().startswith(("https://", "http://")) else "path"
    out = ["", "[[account]]", f"name = {toml_value(name)}", 'type = "ics"']
    if key == "url":
        out.append("# A secret address: anyone who has it reads the calendar; keep this file 0600.")
    else:
        out.append("# One .ics file, or a directory of them:")
    return [*out, f"{key} = {toml_value(where)}"]


def ask(q: Questions) -> NewAccount:
    """init's question for an .ics source (checked when it is first synced)."""
    where = q.given.ics or ""
    name = q.given.name or unique_name("ics", q.taken)
    while True:
        if q.interactive:
            where = click.prompt("The .ics URL (https), file or directory", default=where or None)
            name = click.prompt("A short name for this calendar", default=name)
        is_url = where.lower().startswith(("https://", "http://"))
        try:
            IcsSettings(url=where) if is_url else IcsSettings(path=where)
        except ValueError as exc:
            if not q.interactive:
                raise GaveUp(f"--ics: {exc}", exit_code=2) from None
            click.echo(f"  {exc}")
            continue
        return NewAccount(name, "ics", config_lines(name, where))


ENTRY: AccountType[IcsSettings] = AccountType(
    name="ics",
    source="calendar",
    settings=IcsSettings,
    open=_open,
    authorize=_authorize,
    ask=ask,
    auth_help=".ics: nothing to authorize.",
)
