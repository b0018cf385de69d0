"""The ``weakties`` group: global options, the shared :class:`App`, the one error handler.

Every error a user can meet is a ``syncd.errors.WeaktiesError`` (or a
connector's ``ConnectorError``); :class:`_Group` turns it into one line on
stderr, ``weakties: error: ...``, and the exit status its class names
(2 usage and configuration, 1 runtime, 3 not running). Never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

from connectors.base import ConnectorError
from syncd import config as config_mod
from syncd import durations
from syncd.errors import WeaktiesError
from syncd.model import ContactFacts
from syncd.store import Store, open_store


def fail(ctx: click.Context, message: str, exit_code: int, hint: str | None = None) -> NoReturn:
    """One line for the user on stderr (and a hint line), then exit with ``exit_code``."""
    click.echo(f"weakties: error: {message}", err=True)
    if hint:
        click.echo(hint, err=True)
    ctx.exit(exit_code)


def _usage_message(exc: click.UsageError) -> str:
    """click's own wording ("No such option: --x", "Missing argument 'NAME'.") in
    weakties' style: lower-case start, no final period."""
    text = exc.format_message().strip().rstrip(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def _command_path(ctx: click.Context | None) -> str:
    """``weakties contact add``, whatever name the program was started under."""
    names = []
    while ctx is not None:
        names.append((ctx.info_name or "") if ctx.parent is not None else "weakties")
        ctx = ctx.parent
    return " ".join(reversed(names))


#: Which module of ``syncd.cli`` defines each top-level command: a command
#: module is imported only when one of its commands runs (or ``--help`` lists
#: them all), so each command pays only for its own imports. A new command =
#: one line here.
COMMANDS: dict[str, str] = {
    "sync": "syncing",
    "auth": "syncing",
    "status": "standing",
    "contact": "contacts",
    "touch": "contacts",
    "snooze": "contacts",
    "suggest": "onboarding",
    "import": "onboarding",
    "init": "onboarding",
    "daemon": "background",
    "check-lapses": "background",
    "service": "background",
    "digest": "reach",
    "db": "database",
}


class _Group(click.Group):
    """Loads command modules on first use (:data:`COMMANDS`) and turns the core's
    user-facing exceptions into one-line errors."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"syncd.cli.{COMMANDS[cmd_name]}")  # registers it on main
        return self.commands.get(cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's own usage errors (unknown option, missing argument, bad choice)
        in weakties' format, ``weakties: error: ...`` and a ``try ... --help``
        line, exit status 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            click.echo(f"weakties: error: {_usage_message(exc)}", err=True)
            click.echo(f"try '{_command_path(exc.ctx)} --help'", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WeaktiesError as exc:
            fail(ctx, str(exc), exc.exit_code, exc.hint)
        except ConnectorError as exc:
            fail(ctx, str(exc), 1)


class App:
    """What the commands share: the config, loaded once, and the store, opened lazily."""

    def __init__(self, config_path: Path | None) -> None:
        self._config_path = config_path
        self._config: config_mod.Config | None = None
        self._store: Store | None = None

    @property
    def config(self) -> config_mod.Config:
        """The config, loaded (and checked) on first use, so ``CMD --help`` needs none.
        No config file is an error for every command but ``init``."""
        if self._config is None:
            hint = "weakties init"
            if self._config_path is not None:
                hint = f"weakties --config {self._config_path} init"
            self._config = config_mod.load(self._config_path, init_hint=hint)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_app = click.make_pass_decorator(App)


class UserPath(click.Path):
    """A path typed on the command line, ``~`` and ``$VARS`` expanded as in the config
    (for a quoted "~/contacts.vcf" the shell left alone)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            name = param.human_readable_name if param else "path"
            try:
                value = config_mod.expand_path(value, name)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        return super().convert(value, param, ctx)


def bounded_duration(bounds: durations.Bounds, value: str | None) -> timedelta | None:
    """A duration typed on the command line, within the bounds of its setting."""
    if value is None:
        return None
    try:
        return bounds.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_cadence(_ctx: Any, _param: Any, value: str | None) -> timedelta | None:
    """click callback for ``--cadence``."""
    return bounded_duration(durations.CADENCE, value)


def tagged(contacts: list[ContactFacts], tags: Sequence[str]) -> list[ContactFacts]:
    """The contacts with any of ``tags``; all of them when no tag is given."""
    if not tags:
        return contacts
    wanted = set(tags)
    return [c for c in contacts if wanted & set(c.tags)]


def bar(done: int, total: int, width: int = 30) -> str:
    """``[#####-----]``: how much of ``total`` is done (a full bar for an empty total)."""
    filled = min(width, width * done // total) if total else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def progress_bar() -> Callable[[str, int, int | None], None] | None:
    """A one-line progress bar on stderr while syncing, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(account: str, done: int, total: int | None) -> None:
        if total:
            click.echo(
                f"\r{account}: {bar(done, total)} {done}/{total} messages", err=True, nl=False
            )
        else:
            click.echo(f"\r{account}: {done} messages", err=True, nl=False)

    return show


@click.group(cls=_Group)
@click.option(
    "--config",
    "config_path",
    type=UserPath(path_type=Path),
    help="Config file (default: $WEAKTIES_CONFIG, else the XDG config dir).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to stderr.")
@click.version_option(package_name="weakties")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """weakties: notices when someone you care about has gone quiet."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if ctx.resilient_parsing or ctx.invoked_subcommand == "init":
        return  # init may have to replace a config that does not load
    app = App(config_path)  # the config loads when a command first needs it
    ctx.obj = app
    ctx.call_on_close(app.close)
