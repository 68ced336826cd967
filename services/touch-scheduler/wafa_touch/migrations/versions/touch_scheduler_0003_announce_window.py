"""touch-scheduler: announce touches when they enter the look-ahead window; cheaper materialisation

- `touches.scheduled_announced_at`: when `touch.scheduled` was published (NULL: not yet). Touches
  that exist already were announced when they were materialised.
- `ix_touches_unannounced`: the announce job's queue (scheduled touches not yet announced, by
  due time); a touch leaves it once announced.
- `ix_touches_customer_sent` only holds contacted touches (`sent_at` set): the fatigue history
  never looks at the others, and materialised touches no longer pay for it.

Revision ID: touch_scheduler_0003
Revises: touch_scheduler_0002
Create Date: 2026-11-25 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "touch_scheduler_0003"
down_revision: str | Sequence[str] | None = "touch_scheduler_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("touches", sa.Column("scheduled_announced_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE touches SET scheduled_announced_at = created_at WHERE status = 'scheduled'")
    op.create_index(
        "ix_touches_unannounced", "touches", ["due_at"], postgresql_where=sa.text("status = 'scheduled' AND scheduled_announced_at IS NULL")
    )
    op.drop_index("ix_touches_customer_sent", table_name="touches")
    op.create_index("ix_touches_customer_sent", "touches", ["customer_id", "sent_at"], postgresql_where=sa.text("sent_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_touches_customer_sent", table_name="touches")
    op.create_index("ix_touches_customer_sent", "touches", ["customer_id", "sent_at"])
    op.drop_index("ix_touches_unannounced", table_name="touches")
    op.drop_column("touches", "scheduled_announced_at")
