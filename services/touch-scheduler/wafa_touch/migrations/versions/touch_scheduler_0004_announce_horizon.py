"""touch-scheduler: the announce horizon replaces the unannounced-touch index; leaner touch indexes

Materialisation writes 33 touches per enrolment, and every index on `touches` is paid per row:
- `ix_touches_unannounced` (every new scheduled touch entered it) gives way to
  `announce_horizon`, the instant the look-ahead job has announced up to: the job reads only
  touches due after it, and a touch written due on or before it is announced as it is written.
  NULL: the job has not run yet and reads from the start.
- `ix_touches_enrolment_id` goes: an enrolment's touches are found through their customer.
- `ix_touches_customer_due` (customer_id, due_at) becomes `ix_touches_customer` (customer_id):
  a customer has a few dozen touches, sorted in memory, and equal keys share one index entry
  (B-tree deduplication), a fifth of the size.
Measured with 20k enrolments (660k touches): PostgreSQL's CPU for materialisation 4.4 s -> 3.0 s.

Revision ID: touch_scheduler_0004
Revises: touch_scheduler_0003
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "touch_scheduler_0004"
down_revision: str | Sequence[str] | None = "touch_scheduler_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "announce_horizon",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("horizon", sa.DateTime(timezone=True)),
        sa.CheckConstraint("id = 1", name="ck_announce_horizon_single_row"),
    )
    op.execute("INSERT INTO announce_horizon (id, horizon) VALUES (1, NULL)")
    op.drop_index("ix_touches_unannounced", table_name="touches")
    op.drop_index("ix_touches_enrolment_id", table_name="touches")
    op.drop_index("ix_touches_customer_due", table_name="touches")
    op.create_index("ix_touches_customer", "touches", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_touches_customer", table_name="touches")
    op.create_index("ix_touches_customer_due", "touches", ["customer_id", "due_at"])
    op.create_index("ix_touches_enrolment_id", "touches", ["enrolment_id"])
    op.create_index(
        "ix_touches_unannounced", "touches", ["due_at"], postgresql_where=sa.text("status = 'scheduled' AND scheduled_announced_at IS NULL")
    )
    op.drop_table("announce_horizon")
