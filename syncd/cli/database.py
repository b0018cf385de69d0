"""``weakties db status`` and ``weakties db copy``: the database as a whole.

``status`` shows the URL (password masked), the schema version and the rows
per table; ``copy --to URL`` moves everything into another, empty database
(PostgreSQL, when one machine is no longer enough), in batches with a
progress bar on stderr, and checks the counts; the current database is only
read. ``weakties auth --database`` (in ``syncing``) keeps the PostgreSQL
password in the keyring through :func:`store_password`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from syncd.cli.formatters import DatabaseInfo, Formatter, json_option
from syncd.cli.root import App, bar, main, pass_app


@main.group()
def db() -> None:
    """The database: its version and rows, copying it elsewhere."""


@db.command("status")
@json_option
@pass_app
def db_status(app: App, formatter: Formatter) -> None:
    """The database URL (without password), its schema version and row counts."""
    from syncd import dburl
    from syncd.store import SCHEMA_HEAD

    url = dburl.mask(app.config.database_url)
    info = DatabaseInfo(url, app.store.schema_version(), SCHEMA_HEAD, app.store.counts())
    formatter.database(info)


def _progress() -> Callable[[str, int, int], None]:
    """Rows copied per table on stderr: a bar on a terminal, a line per table otherwise."""
    tty = sys.stderr.isatty()

    def show(table: str, done: int, total: int) -> None:
        if tty:
            end = "\n" if done >= total else ""
            click.echo(
                f"\r{table:<16} {bar(done, total)} {done}/{total} rows{end}", err=True, nl=False
            )
        elif done >= total:
            click.echo(f"{table}: {done} rows", err=True)

    return show


@db.command("copy")
@click.option("--to", "target_url", required=True, metavar="URL", help="The empty database.")
@pass_app
def db_copy(app: App, target_url: str) -> None:
    """Copy everything into the empty database at URL; this one stays as it is."""
    from syncd import dburl
    from syncd.store import open_store

    source = app.store
    source.engine  # noqa: B018 - the source opens (and fails) before the target is touched
    target = open_store(target_url)
    try:
        copied = source.copy_into(target, _progress())
    finally:
        target.close()
    click.echo(
        f"copied {sum(copied.values())} rows in {len(copied)} tables into "
        f"{dburl.mask(target_url)} (counts checked); point [database] url at it"
    )


def store_password(app: App) -> None:
    """``weakties auth --database``: check the PostgreSQL password, keep it in the keyring."""
    from syncd import dburl, secrets
    from syncd.store.database import check_password

    url = app.config.database_url
    check_password(url, None)  # not a PostgreSQL URL naming a user: said before asking
    secrets.ensure_keyring()
    password = click.prompt(f"Password for {dburl.mask(url)}", hide_input=True, err=True)
    key = check_password(url, password)
    secrets.store_secret(key, password)
    click.echo(f"database {dburl.mask(url)}: password checked and stored in the keyring")
