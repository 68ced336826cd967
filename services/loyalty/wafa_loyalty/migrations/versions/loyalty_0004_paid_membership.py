"""paid-membership tiers and member subscriptions

Revision ID: loyalty_0004
Revises: loyalty_0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "loyalty_0004"
down_revision: str | Sequence[str] | None = "loyalty_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tiers", sa.Column("paid", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("members", sa.Column("subscription_tier", sa.String(length=100), nullable=True))
    op.add_column("members", sa.Column("subscription_ends_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_members_subscription_ends_at", "members", ["subscription_ends_at"], postgresql_where=sa.text("subscription_ends_at IS NOT NULL"))
    op.create_index("ix_members_tier_review_at", "members", ["tier_review_at"], postgresql_where=sa.text("tier_review_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_members_tier_review_at", "members")
    op.drop_index("ix_members_subscription_ends_at", "members")
    op.drop_column("members", "subscription_ends_at")
    op.drop_column("members", "subscription_tier")
    op.drop_column("tiers", "paid")
