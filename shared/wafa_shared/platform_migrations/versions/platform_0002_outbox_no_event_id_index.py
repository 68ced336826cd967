"""outbox: no unique index on event_id

Event ids are generated (uuid4) and never looked up in the outbox, so the index only cost an
insertion into a random B-tree page per event, and another when the relay marks it published
(that update cannot be HOT: `published_at` is in a partial index's predicate).

Revision ID: platform_0002
Revises: platform_0001
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "platform_0002"
down_revision: str | Sequence[str] | None = "platform_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("uq_outbox_event_id", "outbox", type_="unique")


def downgrade() -> None:
    op.create_unique_constraint("uq_outbox_event_id", "outbox", ["event_id"])
