"""rejected referrals have no referee

Revision ID: loyalty_0003
Revises: loyalty_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "loyalty_0003"
down_revision: str | Sequence[str] | None = "loyalty_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("referral_bonuses", "referee_id", existing_type=sa.UUID(), nullable=True)


def downgrade() -> None:
    op.alter_column("referral_bonuses", "referee_id", existing_type=sa.UUID(), nullable=False)
