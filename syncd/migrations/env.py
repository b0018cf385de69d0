"""Alembic environment: migrates the connection that ``syncd.store`` hands over."""

from alembic import context

from syncd.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things in place
)
with context.begin_transaction():
    context.run_migrations()
