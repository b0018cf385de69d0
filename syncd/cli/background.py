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
from syncd.errors import NotRunning, WeaktiesError


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
    """Check for lapses once, tell them through the configured backend, and exit."""
    from syncd import alerts
    from syncd.notify import make_notifier

    notifier = make_notifier(app.config, interactive=False)
    try:
        result = alerts.check(app.store, app.config, notifier, dry_run=dry_run)
    finally:
        notifier.close()
    if not result.alerts:
        click.echo("Nobody to tell about.")
    elif result.held:
        click.echo(
            f"Quiet hours ({app.config.notify.quiet_hours}): "
            f"{len(result.alerts)} alert(s) held until they end."
        )
    for n in result.delivered:
        verb = "would tell" if dry_run else f"told ({app.config.notify.backend})"
        click.echo(f"{verb}: {n.summary}")
        for line in n.body.splitlines():
            click.echo(f"  {line}")
    if result.failed:
        raise WeaktiesError(
            f"could not deliver through the {app.config.notify.backend} backend "
            "(logged instead; it will be tried again at the next check)"
        )


@main.group()
def service() -> None:
    """Install the systemd user unit, and see how the daemon is doing."""


def install_service(config: config_mod.Config, explicit_config: bool, start: bool) -> None:
    """Write the systemd user unit; with ``start``, enable and start it too."""
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
    problem = service_mod.start()
    if problem is None:
        click.echo("weakties now runs in the background ('weakties service status' shows how)")
    else:
        click.echo(f"could not start it ({problem}); start it with: {how}")


def explicit_config() -> bool:
    """Whether this run named its config (then the unit must name it too)."""
    root = click.get_current_context().find_root().params
    return root.get("config_path") is not None or bool(os.environ.get("WEAKTIES_CONFIG"))


@service.command("install")
@click.option("--now", "start", is_flag=True, help="Also enable and start it.")
@pass_app
def service_install(app: App, start: bool) -> None:
    """Write ~/.config/systemd/user/weakties.service for this installation."""
    install_service(app.config, explicit_config(), start)


@service.command("status")
@pass_app
def service_status(app: App) -> None:
    """Whether the daemon runs, when each account last synced, which machine polls it."""
    from syncd import service as service_mod

    now = datetime.now(UTC)
    state = service_mod.running()
    pid = f", pid {state.pid}" if state.pid else ""
    click.echo(
        f"daemon: {state.state} ({state.detail}{pid})"
        if state.detail
        else f"daemon: {state.state}{pid}"
    )
    leases = {lease.account: lease for lease in app.store.leases() if lease.expires_at > now}
    for account in app.config.accounts:
        lease = leases.get(account.name)
        poller = (
            f"; polled by {lease.host()} (pid {lease.holder.rsplit(':', 1)[1]})" if lease else ""
        )
        click.echo(
            f"{account.name}: last synced "
            f"{output.ago(app.store.last_synced(account.name), now)}{poller}"
        )
    if state.state != "active":
        raise SystemExit(NotRunning.exit_code)  # the lines above say why
