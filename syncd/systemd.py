"""Living under systemd: the sd_notify protocol and journal-friendly logging.

* :func:`sd_notify` sends ``READY=1``, ``WATCHDOG=1``, ``STATUS=...``,
  ``STOPPING=1`` to ``$NOTIFY_SOCKET`` (a datagram socket; ``@`` means the
  abstract namespace). Without the variable it does nothing.
* :class:`Watchdog` pings at half of ``$WATCHDOG_USEC`` when systemd asked.
* :func:`configure_logging` logs to stderr; under systemd (``$JOURNAL_STREAM``
  or ``$INVOCATION_ID``) without timestamps of its own and with ``<N>``
  priority prefixes the journal understands.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time

log = logging.getLogger("weakties.systemd")


def sd_notify(*lines: str) -> bool:
    """Send state lines to systemd; False when not under systemd (or it failed)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
    except OSError as exc:
        log.debug("sd_notify failed: %s", exc)
        return False
    return True


class Watchdog:
    """Pings systemd's watchdog often enough, and no more often than needed."""

    def __init__(self) -> None:
        self.interval: float | None = None
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if usec and usec.isdigit() and (not pid or pid == str(os.getpid())):
            self.interval = int(usec) / 1e6 / 2
        self._last = 0.0

    def ping(self) -> None:
        if self.interval is None:
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            sd_notify("WATCHDOG=1")
            self._last = now


def under_systemd() -> bool:
    return bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))


_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _JournalFormatter(logging.Formatter):
    """'<3>weakties.engine: ...': the journal reads the priority, adds the time."""

    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{prio}>{line}" for line in text.splitlines())


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if under_systemd():
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )
    for noisy in ("imapclient", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
