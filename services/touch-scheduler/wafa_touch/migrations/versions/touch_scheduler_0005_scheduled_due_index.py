"""touch-scheduler: scheduled touches get their own narrow due-time index

`ix_touches_status_due` (status, due_at) took every materialised touch with a key of the
status text and the due time. Dispatch, announce and the upcoming-load view read scheduled
touches only: `ix_touches_due_scheduled` (due_at) WHERE status = 'scheduled' serves them with
an 8-byte key. The other statuses (in-flight deliveries, skipped by reason, the touch list by
status) keep (status, due_at), now partial, which a materialised touch enters only when it is
stored skipped. COPY of 3.3M touches: 14.2 / 13.6 s of PostgreSQL CPU before, 12.1 / 12.6 s after.

Revision ID: touch_scheduler_0005
Revises: touch_scheduler_0004
Create Date: 2026-12-07 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "touch_scheduler_0005"
down_revision: str | Sequence[str] | None = "touch_scheduler_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_touches_status_due", table_name="touches")
    op.create_index("ix_touches_due_scheduled", "touches", ["due_at"], postgresql_where=sa.text("status = 'scheduled'"))
    op.create_index("ix_touches_status_due", "touches", ["status", "due_at"], postgresql_where=sa.text("status <> 'scheduled'"))


def downgrade() -> None:
    op.drop_index("ix_touches_status_due", table_name="touches")
    op.drop_index("ix_touches_due_scheduled", table_name="touches")
    op.create_index("ix_touches_status_due", "touches", ["status", "due_at"])
