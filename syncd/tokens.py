"""Where OAuth tokens live: the keyring, or a token file written 0600.

An OAuth account (Gmail) stores its authorized-user JSON (refresh token,
client id and secret, the current access token) either in the keyring under
service ``weakties`` and the account's name, or in the account's
``token_file``. Refreshed tokens are written back the same way. Tokens never
go into the config, the database or the logs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import keyring.errors

from syncd.secrets import SERVICE, SecretError, ensure_keyring


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (0600)."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_token(account: str, token_file: str | None) -> str:
    """The account's stored authorized-user JSON; SecretError says how to get one."""
    hint = f"run 'weakties auth {account}' first"
    if token_file:
        path = Path(token_file).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretError(f"account {account!r}: no token file {path}; {hint}") from None
        except OSError as exc:
            raise SecretError(f"account {account!r}: token file {path}: {exc.strerror}") from None
    try:
        token = ensure_keyring().get_password(SERVICE, account)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"account {account!r}: keyring error: {exc}") from None
    if token is None:
        raise SecretError(f"account {account!r}: no Google authorization stored; {hint}")
    return token


def save_token(account: str, token_file: str | None, token_json: str) -> None:
    """Store authorized-user JSON where :func:`load_token` finds it."""
    if token_file:
        path = Path(token_file).expanduser()
        try:
            write_private(path, token_json)
        except OSError as exc:
            raise SecretError(f"account {account!r}: cannot write {path}: {exc.strerror}") from None
        return
    try:
        ensure_keyring().set_password(SERVICE, account, token_json)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"account {account!r}: cannot store in the keyring: {exc}") from None
