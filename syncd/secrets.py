"""Where passwords come from: the user's ``password_command``, else the keyring.

Secrets never go into the config, the database or the logs. A keyring that
would store them in a plain file (keyrings.alt and the like) or that does not
work at all is refused with a message pointing at ``password_command``.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from syncd.errors import SecretError as SecretError  # importable from here too

if TYPE_CHECKING:  # keyring is imported only when needed: it costs start-up time
    import keyring.backend

SERVICE = "weakties"
_INSECURE_BACKENDS = ("keyrings.alt", "keyring.backends.fail", "keyring.backends.null")


def ensure_keyring() -> keyring.backend.KeyringBackend:
    """The keyring, unless it is missing or would keep secrets in a plain file."""
    import keyring

    backend = keyring.get_keyring()
    backends = getattr(backend, "backends", [backend])  # a ChainerBackend wraps several
    usable = [b for b in backends if not type(b).__module__.startswith(_INSECURE_BACKENDS)]
    if not usable:
        raise SecretError(
            "no usable keyring on this machine (no Secret Service, KWallet or macOS "
            "Keychain found); set password_command in the account instead"
        )
    return backend


def run_password_command(argv: list[str], account: str) -> str:
    """Run the user's command (never through a shell); its first line is the secret."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SecretError(f"account {account!r}: password_command failed: {exc}") from None
    if done.returncode != 0:
        raise SecretError(
            f"account {account!r}: password_command exited with status {done.returncode}"
        )
    secret = done.stdout.split("\n", 1)[0].rstrip("\r")
    if not secret:
        raise SecretError(f"account {account!r}: password_command printed nothing")
    return secret


def keyring_secret(account: str) -> str | None:
    """What the keyring holds for the account (None: nothing stored)."""
    import keyring.errors

    try:
        return ensure_keyring().get_password(SERVICE, account)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"account {account!r}: keyring error: {exc}") from None


def get_secret(account: str, password_command: list[str] | None = None) -> str:
    """The account's password: password_command first, else the keyring."""
    if password_command:
        return run_password_command(password_command, account)
    secret = keyring_secret(account)
    if secret is None:
        raise SecretError(
            f"account {account!r}: no password stored; run 'weakties auth {account}' "
            "or set password_command"
        )
    return secret


def store_secret(account: str, secret: str) -> None:
    """Put the account's secret (password, OAuth token JSON) in the keyring."""
    import keyring.errors

    try:
        ensure_keyring().set_password(SERVICE, account, secret)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"account {account!r}: cannot store in the keyring: {exc}") from None
