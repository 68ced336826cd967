"""call-centre tasks, points movements, plan keys (dashboard: overdue tasks, points liability, plan names)

Revision ID: analytics_0003
Revises: analytics_0002
Create Date: 2026-11-25 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "analytics_0003"
down_revision: str | Sequence[str] | None = "analytics_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "a_tasks",
        sa.Column("task_id", UUID, primary_key=True),
        sa.Column("touch_id", UUID, nullable=False),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=False),
        sa.Column("due_at", TS, nullable=False),
    )
    op.create_index("ix_a_tasks_due_at", "a_tasks", ["due_at"])
    op.create_index("ix_a_tasks_touch_id", "a_tasks", ["touch_id"])
    op.create_table(
        "a_points",
        sa.Column("event_id", UUID, primary_key=True),
        sa.Column("customer_id", UUID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("delta", sa.Numeric(18, 4), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
    )
    op.create_index("ix_a_points_occurred_at", "a_points", ["occurred_at"], postgresql_include=["delta", "kind"])
    op.add_column("a_enrolments", sa.Column("plan_key", sa.String(100)))


def downgrade() -> None:
    op.drop_column("a_enrolments", "plan_key")
    op.drop_table("a_points")
    op.drop_table("a_tasks")
