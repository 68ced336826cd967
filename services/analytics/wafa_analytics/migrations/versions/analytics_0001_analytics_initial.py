"""analytics initial

Revision ID: analytics_0001
Revises:
Create Date: 2026-11-25 01:35:53.619890
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "analytics_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("analytics",)
depends_on: str | Sequence[str] | None = "platform_0001"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
