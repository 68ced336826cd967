"""Alembic environment of the touch scheduler service (its tables + the platform branch)."""

from wafa_shared.migrations import run_env
from wafa_touch.models import Base

run_env(Base.metadata)
