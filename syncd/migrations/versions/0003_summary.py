"""address summary (what suggest needs per address) and a change counter

Revision ID: 0003r
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import syncd.schema
from syncd.store import summary

revision = "0003r"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_summary",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("first_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("last_at", syncd.schema.UTCDateTime(), nullable=False),
        sa.Column("days", sa.LargeBinary(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_address_summary")),
    )
    op.create_table(
        "address_names",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", "name", name=op.f("pk_address_names")),
    )
    version = op.create_table(
        "store_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    summary.rebuild(op.get_bind())  # from the interactions already stored


def downgrade() -> None:
    op.drop_table("store_version")
    op.drop_table("address_names")
    op.drop_table("address_summary")
