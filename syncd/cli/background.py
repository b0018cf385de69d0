"""The background service: ``daemon``, ``check-lapses``, ``service install|status``."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

import click

from syncd import config as config_mod
from syncd.cli import output
from syncd.cli.root import (
    App,
    main,
    pass_app,
)
from syncd.errors import NotRunning, NoUserSession, WeaktiesError
from syncd.notify.base import Notification


@main.command()
@pass_app
def daemon(app: App) -> None:
    """Poll the accounts and tell of lapses until stopped (systemd runs this)."""
    from syncd import daemon as daemon_mod
    from syncd.notify import make_notifier
    from syncd.systemd import configure_logging

    configure_logging(verbose=bool(click.get_current_context().find_root().params["verbose"]))
    if not app.config.accounts:
        logging.getLogger("weakties.daemon").warning(
            "%s: no [[account]] configured; only checking lapses", app.config.path
        )
    store = app.store  # open (and migrate) before telling systemd we are ready
    raise SystemExit(daemon_mod.run(store, app.config, make_notifier(app.config, interactive=True)))


@main.command("check-lapses")
@click.option("--dry-run", is_flag=True, help="Show what would be told; send and record nothing.")
@pass_app
def check_lapses(app: App, dry_run: bool) -> None:
    """Check for lapses once, tell them on every configured channel, and exit.

    Exit status 1 when any channel failed (the others still delivered).
    """
    from syncd import alerts
    from syncd.notify import make_channels

    channels = make_channels(app.config, interactive=False)
    try:
        result = alerts.check(app.store, app.config, channels, dry_run=dry_run)
    finally:
        channels.close()
    if not result.alerts and not result.any_failed:
        click.echo("Nobody to tell about.")
    elif result.held:
        click.echo(
            f"Quiet hours ({app.config.notify.quiet_hours}): "
            f"{len(result.alerts)} alert(s) held until they end."
        )
    shown: list[tuple[list[str], Notification]] = []  # one entry per distinct notification
    for c in result.channels:
        if c.notification is not None and not c.failed:
            for labels, n in shown:
                if (n.summary, n.body) == (c.notification.summary, c.notification.body):
                    labels.append(c.label)
                    break
            else:
                shown.append(([c.label], c.notification))
        elif c.over_budget:
            click.echo(
                f"{c.label}: max_per_day reached; {c.over_budget} alert(s) wait for tomorrow"
            )
    for labels, n in shown:
        verb = "would tell" if dry_run else f"told ({', '.join(labels)})"
        click.echo(f"{verb}: {n.summary}")
        for line in n.body.splitlines():
            click.echo(f"  {line}")
    failed = [c.label for c in result.channels if c.failed]
    problems = [c.problem for c in result.channels if c.problem]
    for problem in problems:
        click.echo(f"weakties: error: {problem}", err=True)
    if failed:
        click.echo(
            f"weakties: error: could not deliver through the {', '.join(failed)} "
            f"{'backend' if len(failed) == 1 else 'backends'} "
            "(logged instead; it will be tried again at the next check)",
            err=True,
        )
    if failed or problems:
        raise SystemExit(1)


@main.group()
def service() -> None:
    """Install the systemd user unit, and see how the daemon is doing."""


def install_service(
    config: config_mod.Config, explicit_config: bool, start: bool, *, must_start: bool = True
) -> None:
    """Write the systemd user unit; with ``start``, enable and start it too.

    A start that cannot happen (no systemd user session, or systemd refusing)
    is an error (exit 1) naming the fallbacks; without ``must_start`` (``init``,
    whose setup is done by then) the same words are printed and it returns."""
    from syncd import service as service_mod

    try:
        done = service_mod.install(config, explicit_config)
    except OSError as exc:
        raise WeaktiesError(f"cannot write the unit: {exc}") from None
    click.echo(f"{'wrote' if done.created else 'updated'} {done.path}")
    how = (
        "systemctl --user enable --now weakties"
        if done.created
        else "systemctl --user daemon-reload && systemctl --user restart weakties"
    )
    if not start:
        click.echo(how)
        return
    problem: WeaktiesError | None = None
    if (why := service_mod.user_session()) is not None:
        problem = NoUserSession(
            f"no systemd user session found ({why}): the unit is written, but nothing can start it",
            hint=(
                "instead, run 'weakties daemon' in a long-lived terminal (tmux, screen), "
                "or poll from cron ('crontab -e'):\n"
                f"  {service_mod.cron_line(config, explicit_config)}"
            ),
        )
    elif (refused := service_mod.start()) is not None:
        problem = WeaktiesError(f"could not start it ({refused}); start it with: {how}")
    if problem is None:
        click.echo("weakties now runs in the background ('weakties service status' shows how)")
    elif must_start:
        raise problem
    elif problem.hint is None:
        click.echo(str(problem))
    else:
        click.echo(f"could not start it ({problem}); start it with: {how}\n{problem.hint}")


def explicit_config() -> bool:
    """Whether this run named its config (then the unit must name it too)."""
    root = click.get_current_context().find_root().params
    return root.get("config_path") is not None or bool(os.environ.get("WEAKTIES_CONFIG"))


@service.command("install")
@click.option(
    "--now",
    "start",
    is_flag=True,
    help="Also enable and start it (exit 1, with the fallbacks, without a systemd user session).",
)
@pass_app
def service_install(app: App, start: bool) -> None:
    """Write ~/.config/systemd/user/weakties.service for this installation."""
    install_service(app.config, explicit_config(), start)


@service.command("status")
@pass_app
def service_status(app: App) -> None:
    """Whether the daemon runs and, per account, when a poll last succeeded (even
    one that found nothing), when one last found new mail, and which machine polls it."""
    from syncd import service as service_mod

    now = datetime.now(UTC)
    state = service_mod.running()
    pid = f", pid {state.pid}" if state.pid else ""
    click.echo(
        f"daemon: {state.state} ({state.detail}{pid})"
        if state.detail
        else f"daemon: {state.state}{pid}"
    )
    polls = app.store.polls()
    leases = {lease.account: lease for lease in app.store.leases() if lease.expires_at > now}
    for account in app.config.accounts:
        ok, new = polls.get(account.name, (None, None))
        lease = leases.get(account.name)
        poller = (
            f"; polled by {lease.host()} (pid {lease.holder.rsplit(':', 1)[1]})" if lease else ""
        )
        click.echo(
            f"{account.name}: last successful poll {output.ago(ok, now)}; "
            f"last new mail {output.ago(new, now)}{poller}"
        )
    if state.state != "active":
        raise SystemExit(NotRunning.exit_code)  # the lines above say why
