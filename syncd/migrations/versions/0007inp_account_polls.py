"""account polls: when each account's poll last succeeded, and last found mail

Revision ID: 0007inp
Revises: 0003r
"""

import sqlalchemy as sa
from alembic import op

import syncd.schema

revision = "0007inp"
down_revision = "0003r"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_polls",
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("last_ok_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("last_new_at", syncd.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_account_polls")),
    )
    # Before this table, the connector state's time was the only trace of a poll
    # (and it moved only when a poll stored something): the best start for both.
    op.execute(
        "INSERT INTO account_polls (account, last_ok_at, last_new_at) "
        "SELECT account, MAX(updated_at), MAX(updated_at) FROM sync_state GROUP BY account"
    )


def downgrade() -> None:
    op.drop_table("account_polls")
