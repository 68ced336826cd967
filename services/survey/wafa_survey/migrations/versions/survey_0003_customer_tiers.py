"""customer tiers (mirror of loyalty.tier.changed)

Revision ID: survey_0003
Revises: survey_0002
Create Date: 2026-11-25 02:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "survey_0003"
down_revision: str | Sequence[str] | None = "survey_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_tiers",
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("tier", sa.String(100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_tiers")),
    )


def downgrade() -> None:
    op.drop_table("customer_tiers")
