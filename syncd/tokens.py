"""Where OAuth tokens live: the keyring, or a token file written 0600.

An OAuth account (Gmail) stores its authorized-user JSON (refresh token,
client id and secret, the current access token) either in the keyring under
service ``weakties`` and the account's name, or in the account's
``token_file``. Refreshed tokens are written back the same way. Tokens never
go into the config, the database or the logs.
"""

from __future__ import annotations

import logging
import os
import shlex
import stat
from pathlib import Path

from syncd.files import write_private
from syncd.secrets import SecretError, keyring_secret, store_secret

log = logging.getLogger("weakties.tokens")


def load_token(account: str, token_file: str | None) -> str:
    """The account's stored authorized-user JSON; SecretError says how to get one."""
    hint = f"run 'weakties auth {account}' first"
    if token_file:
        path = Path(token_file).expanduser()
        try:
            with path.open(encoding="utf-8") as file:
                mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
                token = file.read()
        except FileNotFoundError:
            raise SecretError(f"account {account!r}: no token file {path}; {hint}") from None
        except OSError as exc:
            raise SecretError(f"account {account!r}: token file {path}: {exc.strerror}") from None
        if mode & 0o077:
            log.warning(
                "account %r: token file %s can be read by others (mode %04o); run: chmod 600 %s",
                account,
                path,
                mode,
                shlex.quote(str(path)),
            )
        return token
    stored = keyring_secret(account)
    if stored is None:
        raise SecretError(f"account {account!r}: no Google authorization stored; {hint}")
    return stored


def save_token(account: str, token_file: str | None, token_json: str) -> None:
    """Store authorized-user JSON where :func:`load_token` finds it."""
    if token_file:
        path = Path(token_file).expanduser()
        try:
            write_private(path, token_json)
        except OSError as exc:
            raise SecretError(f"account {account!r}: cannot write {path}: {exc.strerror}") from None
        return
    store_secret(account, token_json)
