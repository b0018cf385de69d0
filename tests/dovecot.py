"""Real-Dovecot IMAP test harness.

This module owns everything needed to run a throwaway Dovecot IMAP server for
the test suite: a private config directory in a temp dir, a fresh CA and
server certificate, free ports on 127.0.0.1 (implicit TLS and plain/STARTTLS),
a PLAIN ``passwd-file`` so tests can add users at runtime, maildir storage
(hierarchy separator "/", dots allowed in names), SPECIAL-USE folders, and
helpers that manipulate a user's mailboxes (append, create/delete folders,
force a UIDVALIDITY change, bulk-load messages).

It never touches the system Dovecot (``/etc/dovecot``, ``/run/dovecot``,
ports 143/993).  Dovecot itself comes from the Debian package
``dovecot-imapd``, which ``scripts/test`` installs.

Typical use::

    with start_dovecot() as server:
        user = server.new_user()
        server.append(user.username, "INBOX", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        with server.client(user.username) as imap:
            imap.select_folder("INBOX")

Hostname-mismatch failures: the server certificate is valid for ``localhost``
and ``127.0.0.1`` only, so wrapping a socket connected to ``tls_port`` with
``server_hostname=MISMATCH_HOSTNAME`` and a context trusting ``ca_file`` fails
verification.  An unknown-CA failure is what ``wrong_ca_file`` is for.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType

from imapclient import IMAPClient

DOVECOT_BINARY = Path("/usr/sbin/dovecot")
DOVEADM_BINARY = Path("/usr/bin/doveadm")
OPENSSL_BINARY = "openssl"
HOST = "127.0.0.1"
# A name the server certificate is NOT valid for (use as SNI/server_hostname).
MISMATCH_HOSTNAME = "wrong-host.invalid"
SPECIAL_USE_FOLDERS = {
    "Drafts": "\\Drafts",
    "Sent": "\\Sent",
    "Junk": "\\Junk",
    "Trash": "\\Trash",
    "Archive": "\\Archive",
}
_STARTUP_TIMEOUT = 20.0
_MAILDIR_FLAG_LETTERS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}
_bulk_batches = itertools.count(1)
_APPENDUID_RE = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a server started in its own process group; SIGKILL the group after 10 s."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class DovecotNotInstalledError(RuntimeError):
    """Dovecot (or doveadm/openssl) is missing on this machine."""


class DovecotStartError(RuntimeError):
    """Dovecot did not come up; the message carries the end of its log."""


@dataclass(frozen=True)
class ImapUser:
    """A mail account on the test server."""

    username: str
    password: str


@dataclass
class Dovecot:
    """Handle on a running throwaway Dovecot; build it with `start_dovecot`."""

    host: str
    tls_port: int
    plain_port: int
    ca_file: Path
    wrong_ca_file: Path
    log_path: Path
    root: Path
    config_path: Path
    _process: subprocess.Popen[bytes] | None = field(repr=False, default=None)
    _mail_uid: int = field(repr=False, default=-1)
    _mail_gid: int = field(repr=False, default=-1)
    _passwords: dict[str, str] = field(repr=False, default_factory=dict)
    _user_counter: Iterator[int] = field(repr=False, default_factory=lambda: itertools.count(1))

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> Dovecot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self, *, remove_files: bool = True) -> None:
        """Stop the master process (and all its children); optionally drop the temp dir."""
        atexit.unregister(self.stop)
        stop_process(self._process)
        self._process = None
        if remove_files:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Dovecot's log (for assertion messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- users -------------------------------------------------------------

    def add_user(self, username: str, password: str) -> None:
        """Add (or replace) a user with a PLAIN password; takes effect at once."""
        if not username or username.startswith(".") or any(c in username for c in "/:%\r\n\0"):
            raise ValueError(f"unusable username: {username!r}")
        if not password or any(c in password for c in ":\r\n\0"):
            raise ValueError(f"unusable password: {password!r}")
        # auth_username_format is %Lu: Dovecot looks users up lowercased.
        username = username.lower()
        replacing = username in self._passwords
        self._passwords[username] = password
        # One passwd-file per user: Dovecot re-stats a passwd-file at most once
        # a second, so a new line in a shared file may go unseen for up to 1s;
        # a new file is read on first use.
        path = self.root / "users" / username
        tmp = path.with_name(f".{username}.tmp")
        tmp.write_text(f"{username}:{{PLAIN}}{password}\n", encoding="utf-8")
        tmp.chmod(0o644)  # read by the auth process, which runs as the dovecot user
        tmp.replace(path)
        if replacing:
            time.sleep(1.1)  # let Dovecot notice the changed file (see above)

    def new_user(self, domain: str = "example.com") -> ImapUser:
        """Create a fresh unique user ``user{n}@domain`` with a random password."""
        while True:
            username = f"user{next(self._user_counter)}@{domain}"
            if username not in self._passwords:
                break
        password = secrets.token_urlsafe(16)
        self.add_user(username, password)
        return ImapUser(username, password)

    def password(self, username: str) -> str:
        return self._passwords[username.lower()]

    # -- clients -----------------------------------------------------------

    def ssl_context(self, *, wrong_ca: bool = False) -> ssl.SSLContext:
        """A verifying client context trusting the test CA (or the unrelated one)."""
        return ssl.create_default_context(
            cafile=str(self.wrong_ca_file if wrong_ca else self.ca_file)
        )

    def client(self, username: str, *, starttls: bool = False, timeout: float = 60.0) -> IMAPClient:
        """A logged-in IMAPClient for ``username`` over verified TLS.

        Implicit TLS on ``tls_port`` by default; ``starttls=True`` uses the
        plain port and upgrades.  Use it as a context manager (logs out).
        """
        context = self.ssl_context()
        if starttls:
            imap = IMAPClient(self.host, port=self.plain_port, ssl=False, timeout=timeout)
        else:
            imap = IMAPClient(
                self.host, port=self.tls_port, ssl=True, ssl_context=context, timeout=timeout
            )
        try:
            if starttls:
                imap.starttls(context)
            password = self.password(username)
            if password.isascii():
                imap.login(username, password)
            else:  # LOGIN is ASCII-only: a UTF-8 password goes by AUTHENTICATE PLAIN
                imap.plain_login(username, password)
        except Exception:
            with contextlib.suppress(Exception):
                imap.shutdown()
            raise
        return imap

    # -- mailbox helpers ---------------------------------------------------

    def append(
        self,
        username: str,
        folder: str,
        raw_message: bytes,
        internaldate: datetime | None = None,
        flags: Sequence[str] = (),
    ) -> int:
        """APPEND one message; returns its UID (from APPENDUID)."""
        with self.client(username) as imap:
            response = imap.append(folder, raw_message, flags=tuple(flags), msg_time=internaldate)
        match = _APPENDUID_RE.search(response)
        if match is None:
            raise RuntimeError(f"no APPENDUID in APPEND response: {response!r}")
        return int(match.group(2))

    def create_folder(self, username: str, name: str) -> None:
        with self.client(username) as imap:
            imap.create_folder(name)

    def delete_folder(self, username: str, name: str) -> None:
        with self.client(username) as imap:
            imap.delete_folder(name)

    def uidvalidity(self, username: str, folder: str) -> int:
        with self.client(username) as imap:
            return int(imap.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def change_uidvalidity(self, username: str, folder: str) -> int:
        """Give ``folder`` a new UIDVALIDITY, keeping its messages; returns the new value.

        Uses ``doveadm mailbox update --uid-validity``, which works for any
        folder including INBOX.  IMAP sessions that have the folder selected
        are disconnected by Dovecot (as a real server would do).
        """
        new = self.uidvalidity(username, folder) + 1
        if new >= 2**32:
            new = 1
        self.doveadm("mailbox", "update", "-u", username, "--uid-validity", str(new), folder)
        return new

    def bulk_append(
        self,
        username: str,
        folder: str,
        messages: Iterable[tuple[bytes, datetime]],
        flags: Sequence[str] = (),
    ) -> int:
        """Load many messages fast by writing maildir files directly.

        Each message's INTERNALDATE is its datetime (stored as the file mtime,
        which is what Dovecot's maildir uses; naive means local time).
        ``flags`` (system flags only) apply to every message.  UIDs are
        assigned in iteration order, after any existing ones.  The folder is
        created if missing.  Returns the number of messages written; raises
        if Dovecot does not then see them all.
        """
        letters = "".join(sorted(_MAILDIR_FLAG_LETTERS[f] for f in flags))
        with self.client(username) as imap:
            if folder.upper() != "INBOX" and not imap.folder_exists(folder):
                imap.create_folder(folder)
            before = int(imap.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])
        cur = self.maildir_path(username, folder) / "cur"
        # Dovecot sorts new maildir files by the "<secs>.M<usecs>" prefix when
        # assigning UIDs, so a strictly increasing prefix keeps append order.
        base = int(time.time())
        batch = f"P{os.getpid()}Q{next(_bulk_batches)}"  # unique across calls
        count = 0
        for count, (raw, when) in enumerate(messages, start=1):
            secs, usecs = divmod(count, 1_000_000)
            name = f"{base + secs}.M{usecs}{batch}.weakties,S={len(raw)}:2,{letters}"
            path = cur / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, raw)
                if self._mail_uid != os.geteuid():
                    os.fchown(fd, self._mail_uid, self._mail_gid)
            finally:
                os.close(fd)
            stamp = when.timestamp()
            os.utime(path, (stamp, stamp))
        # Bump cur/'s mtime well past any earlier sync so Dovecot rescans it.
        future = time.time() + 2
        os.utime(cur, (future, future))
        with self.client(username) as imap:
            after = int(imap.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])
        if after != before + count:
            expected = before + count
            raise RuntimeError(f"bulk_append: expected {expected} in {folder!r}, found {after}")
        return count

    # -- low level ---------------------------------------------------------

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm -c <our config> ARGS`` and return its stdout."""
        result = subprocess.run(
            [str(DOVEADM_BINARY), "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result.stdout

    def maildir_path(self, username: str, folder: str) -> Path:
        """On-disk maildir of ``folder`` (it must already exist)."""
        return Path(self.doveadm("mailbox", "path", "-u", username, folder).strip())


# -- start-up ---------------------------------------------------------------


def start_dovecot(root: Path | None = None) -> Dovecot:
    """Start a private Dovecot on 127.0.0.1 and wait until it answers.

    ``root`` is an empty directory to hold everything (default: a new temp
    dir; keep the path short, Dovecot puts unix sockets under it).
    """
    _check_installed()
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="weakties-dovecot-"))
    root.mkdir(parents=True, exist_ok=True)
    # Dovecot's unprivileged processes (auth as "dovecot", mail as the mail
    # user) must be able to traverse the root dir.
    root.chmod(0o711)
    ca_file, wrong_ca_file, cert_file, key_file = _make_certificates(root / "tls")
    mail_uid, mail_gid, service_user, login_user = _pick_users()
    mail_dir = root / "mail"
    mail_dir.mkdir(exist_ok=True)
    os.chown(mail_dir, mail_uid, mail_gid)
    users_dir = root / "users"
    users_dir.mkdir(exist_ok=True)
    users_dir.chmod(0o755)
    log_path = root / "dovecot.log"
    config_path = root / "dovecot.conf"

    last_error: DovecotStartError | None = None
    for _attempt in range(5):
        tls_port, plain_port = _free_ports(2)
        config_path.write_text(
            _config(
                root=root,
                tls_port=tls_port,
                plain_port=plain_port,
                cert_file=cert_file,
                key_file=key_file,
                users_dir=users_dir,
                mail_dir=mail_dir,
                mail_uid=mail_uid,
                mail_gid=mail_gid,
                service_user=service_user,
                login_user=login_user,
                log_path=log_path,
            )
        )
        server = Dovecot(
            host=HOST,
            tls_port=tls_port,
            plain_port=plain_port,
            ca_file=ca_file,
            wrong_ca_file=wrong_ca_file,
            log_path=log_path,
            root=root,
            config_path=config_path,
            _mail_uid=mail_uid,
            _mail_gid=mail_gid,
        )
        with open(root / "master.out", "ab") as out:
            server._process = subprocess.Popen(
                [str(DOVECOT_BINARY), "-F", "-c", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        # Dovecot runs in its own session (no stray Ctrl-C); make sure an
        # interpreter exit without stop() still takes it down.
        atexit.register(server.stop)
        try:
            _wait_ready(server)
            return server
        except DovecotStartError as error:
            server.stop(remove_files=False)
            last_error = error
            if "Address already in use" not in str(error):
                break
    shutil.rmtree(root, ignore_errors=True)
    assert last_error is not None
    raise last_error


def _check_installed() -> None:
    missing = [str(p) for p in (DOVECOT_BINARY, DOVEADM_BINARY) if not p.exists()]
    if shutil.which(OPENSSL_BINARY) is None:
        missing.append(OPENSSL_BINARY)
    if missing:
        raise DovecotNotInstalledError(
            f"{', '.join(missing)} not found: install dovecot-imapd and openssl (scripts/test does)"
        )


def _pick_users() -> tuple[int, int, str, str]:
    """(mail uid, mail gid, internal service user, login user).

    As root, mail is owned by ``nobody``: Dovecot refuses to access mail as
    uid 0.  Otherwise everything runs as the current user.
    """
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, "dovecot", "dovenull"
    me = pwd.getpwuid(os.geteuid())
    return me.pw_uid, me.pw_gid, me.pw_name, me.pw_name


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_ready(server: Dovecot) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while True:
        proc = server._process
        assert proc is not None
        if proc.poll() is not None:
            master_out = (server.root / "master.out").read_text(errors="replace")
            raise DovecotStartError(
                f"dovecot exited with {proc.returncode}:\n{master_out}\n{server.log_tail()}"
            )
        try:
            with socket.create_connection((server.host, server.plain_port), timeout=2) as sock:
                greeting = sock.recv(1024)
            with socket.create_connection((server.host, server.tls_port), timeout=2):
                pass
            if greeting.startswith(b"* OK"):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise DovecotStartError(
                f"dovecot did not answer within {_STARTUP_TIMEOUT}s:\n{server.log_tail()}"
            )
        time.sleep(0.05)


# -- TLS material -------------------------------------------------------------

_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def _openssl(*args: str | Path) -> None:
    result = subprocess.run(
        [OPENSSL_BINARY, *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _make_certificates(directory: Path) -> tuple[Path, Path, Path, Path]:
    """Create (ca.pem, wrong-ca.pem, server.pem, server.key) with the openssl CLI."""
    directory.mkdir(mode=0o700, exist_ok=True)
    cnf = directory / "openssl.cnf"
    cnf.write_text(_OPENSSL_CONFIG)
    key_args = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for name, cn in (("ca", "weakties test CA"), ("wrong-ca", "weakties unrelated CA")):
        _openssl(
            "req", "-x509", "-config", cnf, "-extensions", "ca_ext", *key_args,
            "-keyout", directory / f"{name}.key", "-out", directory / f"{name}.pem",
            "-days", "30", "-subj", f"/CN={cn}",
        )  # fmt: skip
    _openssl(
        "req", "-new", "-config", cnf, *key_args, "-subj", "/CN=localhost",
        "-keyout", directory / "server.key", "-out", directory / "server.csr",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", directory / "server.csr",
        "-CA", directory / "ca.pem", "-CAkey", directory / "ca.key",
        "-set_serial", str(secrets.randbits(63)), "-days", "30",
        "-extfile", cnf, "-extensions", "server_ext", "-out", directory / "server.pem",
    )  # fmt: skip
    for public in ("ca.pem", "wrong-ca.pem", "server.pem"):
        (directory / public).chmod(0o644)
    directory.chmod(0o755)
    return (
        directory / "ca.pem",
        directory / "wrong-ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )


# -- dovecot.conf ---------------------------------------------------------------


def _config(
    *,
    root: Path,
    tls_port: int,
    plain_port: int,
    cert_file: Path,
    key_file: Path,
    users_dir: Path,
    mail_dir: Path,
    mail_uid: int,
    mail_gid: int,
    service_user: str,
    login_user: str,
    log_path: Path,
) -> str:
    mailboxes = "\n".join(
        f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}"
        for name, flag in SPECIAL_USE_FOLDERS.items()
    )
    # Running unprivileged: no chroot for login processes, and unix sockets
    # must be group-owned by our own group instead of "dovecot".
    rootless = os.geteuid() != 0
    login_chroot = "  chroot =\n" if rootless else ""
    no_chroot = (
        "".join(
            f"service {svc} {{\n  chroot =\n}}\n" for svc in ("anvil", "ipc", "imap-urlauth-login")
        )
        if rootless
        else ""
    )
    internal_group = (
        f"default_internal_group = {grp.getgrgid(os.getegid()).gr_name}\n" if rootless else ""
    )
    return f"""\
# Generated by tests/dovecot.py -- a throwaway test server, never the system one.
instance_name = weakties-{tls_port}
base_dir = {root}/run
state_dir = {root}/state
listen = {HOST}
protocols = imap
shutdown_clients = yes
log_path = {log_path}
info_log_path = {log_path}
default_internal_user = {service_user}
default_login_user = {login_user}
{internal_group}first_valid_uid = {mail_uid}
last_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}

ssl = yes
ssl_cert = <{cert_file}
ssl_key = <{key_file}

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {users_dir}/%u
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={mail_dir}/%u
}}

# LAYOUT=fs: folders are plain subdirectories, so names may contain "."
# (the default Maildir++ layout refuses them).
mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}

protocol imap {{
  mail_max_userip_connections = 200
}}

service imap-login {{
{login_chroot}  inet_listener imap {{
    address = {HOST}
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {tls_port}
    ssl = yes
  }}
}}

# Dovecot delays every login from an IP after a failed one (auth penalty,
# 2s doubling), which would make tests after a wrong-password test slow.
# With this socket unreachable, the auth process disables the penalty.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{no_chroot}"""


# Public names for the other test harnesses (tests/caldav_servers.py) that need
# a throwaway CA and free ports too.
make_certificates = _make_certificates
free_ports = _free_ports
