"""shared database: account leases and alert claims (several daemons, one database)

Revision ID: 0006shr
Revises: 0005rch
"""

import sqlalchemy as sa
from alembic import op

import syncd.schema

revision = "0006shr"
down_revision = "0005rch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_leases",
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("expires_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("acquired_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("last_poll_at", syncd.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_account_leases")),
    )
    op.create_table(
        "alert_claims",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("basis", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=100), server_default="default", nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("claimed_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_alert_claims_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "contact_id",
            "kind",
            "basis",
            "channel",
            name=op.f("uq_alert_claims_contact_id_kind_basis_channel"),
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_claims")
    op.drop_table("account_leases")
