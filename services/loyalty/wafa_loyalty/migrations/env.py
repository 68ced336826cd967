"""Alembic environment of the loyalty service (its tables + the platform branch)."""

from wafa_shared.migrations import run_env
from wafa_loyalty.models import Base

run_env(Base.metadata)
