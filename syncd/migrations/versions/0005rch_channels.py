"""notification channels: told-state per channel, a daily budget, the digest's last send

Revision ID: 0005rch
Revises: 0007inp

Rows told before channels existed keep channel "" (they count as told on every
channel, so upgrading re-tells nothing).
"""

import sqlalchemy as sa
from alembic import op

import syncd.schema

revision = "0005rch"
down_revision = "0007inp"
branch_labels = None
depends_on = None


def _notified_alerts(with_channel: bool) -> None:
    columns: list[sa.Column[object]] = [
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
    ]
    key = ["contact_id", "kind"]
    if with_channel:
        columns.append(sa.Column("channel", sa.String(length=100), nullable=False))
        key.append("channel")
    op.create_table(
        "notified_alerts",
        *columns,
        sa.Column("basis", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("notified_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_notified_alerts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_notified_alerts")),
    )


def _rebuild(with_channel: bool, select: str) -> None:
    """Copy the rows aside, recreate the table (its key changes), copy them back."""
    op.execute("CREATE TABLE notified_alerts_copy AS SELECT * FROM notified_alerts")
    op.drop_table("notified_alerts")
    _notified_alerts(with_channel)
    op.execute(select)
    op.drop_table("notified_alerts_copy")


def upgrade() -> None:
    _rebuild(
        True,
        "INSERT INTO notified_alerts (contact_id, kind, channel, basis, notified_at) "
        "SELECT contact_id, kind, '', basis, notified_at FROM notified_alerts_copy",
    )
    op.create_table(
        "notify_budget",
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_notify_budget")),
    )
    op.create_table(
        "digest_state",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("last_sent", syncd.schema.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_digest_state")),
    )


def downgrade() -> None:
    op.drop_table("digest_state")
    op.drop_table("notify_budget")
    _rebuild(
        False,
        "INSERT INTO notified_alerts (contact_id, kind, basis, notified_at) "
        "SELECT contact_id, kind, MAX(basis), MAX(notified_at) FROM notified_alerts_copy "
        "GROUP BY contact_id, kind",
    )
