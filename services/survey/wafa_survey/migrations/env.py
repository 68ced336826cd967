"""Alembic environment of the survey service (its tables + the platform branch)."""

from wafa_shared.migrations import run_env
from wafa_survey.models import Base

run_env(Base.metadata)
