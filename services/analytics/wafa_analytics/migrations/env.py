"""Alembic environment of the analytics service (its tables + the platform branch)."""

from wafa_analytics.models import Base
from wafa_shared.migrations import run_env

run_env(Base.metadata)
