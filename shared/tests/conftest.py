"""Shared-library tests run a small real service (`notes_service`) built from the library."""

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import notes_service

from wafa_shared.testing.plugin import run_app


@pytest.fixture
def notes(infra: Any, topic_prefix: str) -> Any:
    """`async with notes(**settings) as svc:` runs the notes service on a clean database."""

    def start(clean: bool = True, **overrides: Any) -> Any:
        return run_app(
            infra,
            name="notes",
            database="test_notes",
            migrations_dir=notes_service.MIGRATIONS,
            create_app=notes_service.create_app,
            settings_cls=notes_service.NotesSettings,
            topic_prefix=topic_prefix,
            clean=clean,
            **overrides,
        )

    return start
