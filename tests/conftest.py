"""Cross-service fixtures: one platform (`launch_platform`) shared by the journeys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wafa_shared.testing.platform import RunningPlatform, launch_platform


@pytest.fixture(scope="session")
def platform(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """All five services as processes, started once per session and shared by the journeys."""
    with launch_platform(infra, Path(tmp_path_factory.mktemp("platform"))) as running:
        yield running
