"""Where passwords come from: the user's ``password_command`` or ``password_file``,
else the keyring.

Secrets never go into the config, the database or the logs. A keyring that
would store them in a plain file (keyrings.alt and the like) or that does not
work at all is refused with a message pointing at ``password_command``. A
``password_file`` is read only when the account names it, and only if it is a
regular file of the user's that nobody else may read (mode 0600 or stricter).
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
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


def read_password_file(path_text: str, account: str) -> str:
    """The secret in the account's ``password_file``: the file's text with one
    trailing newline stripped. Refused unless it is a regular file owned by this
    user that group and others cannot read or write."""
    path = Path(path_text).expanduser().absolute()
    where = f"account {account!r}: password_file {path}"
    try:  # O_NONBLOCK: a FIFO must not hang us; the checks run on what was opened
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise SecretError(f"{where}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretError(f"{where}: not a regular file")
        if info.st_uid != os.getuid():
            raise SecretError(f"{where}: not owned by you (uid {info.st_uid})")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise SecretError(
                f"{where}: others may read it (mode {mode:04o}); fix it with: chmod 600 {path}"
            )
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            data = fh.read(64 * 1024 + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > 64 * 1024:
        raise SecretError(f"{where}: too large for a password")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{where}: not UTF-8 text") from None
    if text.endswith("\n"):
        text = text[:-1].removesuffix("\r")
    if not text:
        raise SecretError(f"{where}: empty")
    return text


def keyring_secret(account: str) -> str | None:
    """What the keyring holds for the account (None: nothing stored)."""
    import keyring.errors

    try:
        return ensure_keyring().get_password(SERVICE, account)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"account {account!r}: keyring error: {exc}") from None


def get_secret(
    account: str, password_command: list[str] | None = None, password_file: str | None = None
) -> str:
    """The account's password: password_command or password_file if the account
    names one, else the keyring."""
    if password_command:
        return run_password_command(password_command, account)
    if password_file:
        return read_password_file(password_file, account)
    secret = keyring_secret(account)
    if secret is None:
        raise SecretError(
            f"account {account!r}: no password stored; run 'weakties auth {account}' "
            "or set password_command or password_file"
        )
    return secret


def store_secret(account: str, secret: str) -> None:
    """Put the account's secret (password, OAuth token JSON) in the keyring."""
    import keyring.errors

    try:
        ensure_keyring().set_password(SERVICE, account, secret)
    except keyring.errors.KeyringError as exc:
        raise SecretError(f"account {account!r}: cannot store in the keyring: {exc}") from None
