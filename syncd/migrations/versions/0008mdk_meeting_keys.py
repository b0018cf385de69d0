"""calendar meetings: an index on dedupe_key (which meetings already count, per sync batch)

Revision ID: 0008mdk
Revises: 0004cal
"""

from alembic import op

revision = "0008mdk"
down_revision = "0004cal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_calendar_meetings_dedupe_key"), "calendar_meetings", ["dedupe_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_meetings_dedupe_key"), table_name="calendar_meetings")
