"""The ``command`` backend: runs the user's argv template, never through a shell.

Each argument of ``[notify] command`` is formatted on its own with the
placeholders (``{name} {email} {days} {direction} {kind} {count} {summary}
{body}``), so text from mail can never become an extra argument or shell
syntax. A digest fills them in for all its contacts at once ("Priya, Bob").
"""

from __future__ import annotations

import logging
import subprocess

from syncd.notify.base import ActionRequest, Notification

log = logging.getLogger("weakties.notify.command")

TIMEOUT = 60.0


def render(template: list[str], fields: dict[str, str]) -> list[str]:
    return [arg.format_map(fields) for arg in template]


class CommandNotifier:
    def __init__(self, template: list[str], timeout: float = TIMEOUT) -> None:
        self.template = template
        self.timeout = timeout

    def deliver(self, notification: Notification) -> bool:
        argv = render(self.template, notification.fields)
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("notify command %s failed: %s", self.template[0], exc)
            return False
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or [""])[-1][:300]
            log.warning(
                "notify command %s exited with status %d%s",
                self.template[0],
                done.returncode,
                f": {why}" if why else "",
            )
            return False
        return True

    def pending_actions(self) -> list[ActionRequest]:
        return []

    def open_uri(self, uri: str) -> bool:
        return False

    def close(self) -> None:
        pass
