"""Alembic environment of the customer service (its tables + the platform branch)."""

from wafa_shared.migrations import run_env
from wafa_customer.models import Base

run_env(Base.metadata)
