"""calendar sources: stored resources, their meetings, the rules they were evaluated with

Revision ID: 0004cal
Revises: 0006shr
"""

import sqlalchemy as sa
from alembic import op

import syncd.schema

revision = "0004cal"
down_revision = "0006shr"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_resources",
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("href", sa.String(length=1000), nullable=False),
        sa.Column("calendar", sa.String(length=500), nullable=False),
        sa.Column("uid", sa.String(length=998), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("ical", sa.LargeBinary(), nullable=False),
        sa.Column("expanded_until", syncd.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("account", "href", name=op.f("pk_calendar_resources")),
    )
    op.create_table(
        "calendar_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("href", sa.String(length=1000), nullable=False),
        sa.Column("dedupe_key", sa.String(length=998), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("at", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("counts_from", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("folder", sa.String(length=500), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.ForeignKeyConstraint(
            ["account", "href"],
            ["calendar_resources.account", "calendar_resources.href"],
            name=op.f("fk_calendar_meetings_account_calendar_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_meetings")),
        sa.UniqueConstraint(
            "account",
            "href",
            "dedupe_key",
            "address",
            name=op.f("uq_calendar_meetings_account_href_dedupe_key_address"),
        ),
    )
    with op.batch_alter_table("calendar_meetings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calendar_meetings_address_counts_from_at",
            ["address", "counts_from", "at"],
            unique=False,
        )
    op.create_table(
        "calendar_rules",
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("checked_at", syncd.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_calendar_rules")),
    )


def downgrade() -> None:
    op.drop_table("calendar_rules")
    with op.batch_alter_table("calendar_meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_meetings_address_counts_from_at")
    op.drop_table("calendar_meetings")
    op.drop_table("calendar_resources")
