"""Alembic environment of the loyalty service (its tables + the platform branch)."""

from wafa_loyalty.models import Base
from wafa_shared.migrations import run_env

run_env(Base.metadata)
