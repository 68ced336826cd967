from notes_service import Base

from wafa_shared.migrations import run_env

run_env(Base.metadata)
