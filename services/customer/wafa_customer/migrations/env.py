"""Alembic environment of the customer service (its tables + the platform branch)."""

from wafa_customer.models import Base
from wafa_shared.migrations import run_env

run_env(Base.metadata)
