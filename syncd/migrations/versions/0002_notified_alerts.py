"""notified alerts: which lapse was told when

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import syncd.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notified_alerts",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("basis", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("notified_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_notified_alerts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "kind", name=op.f("pk_notified_alerts")),
    )


def downgrade() -> None:
    op.drop_table("notified_alerts")
