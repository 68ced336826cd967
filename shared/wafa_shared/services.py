"""The five services: their names, import packages and default dev ports (DESIGN §2)."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    package: str
    port: int

    @property
    def env_prefix(self) -> str:
        return f"WAFA_{self.name.upper().replace('-', '_')}_"

    @property
    def database(self) -> str:
        return f"wafa_{self.name.replace('-', '_')}"

    def app_module(self) -> ModuleType | None:
        try:
            return importlib.import_module(f"{self.package}.app")
        except ModuleNotFoundError:
            return None

    def migrations_dir(self) -> Path:
        module = importlib.import_module(self.package)
        return Path(module.__file__ or "").parent / "migrations"


SERVICES = [
    ServiceInfo("customer", "wafa_customer", 8001),
    ServiceInfo("loyalty", "wafa_loyalty", 8002),
    ServiceInfo("survey", "wafa_survey", 8003),
    ServiceInfo("analytics", "wafa_analytics", 8004),
    ServiceInfo("touch-scheduler", "wafa_touch", 8005),
]


def installed_services() -> list[ServiceInfo]:
    """Services whose package is installed — found without importing their apps, so the
    launcher process stays small (importing all five apps costs ~100 MB of RSS)."""
    return [s for s in SERVICES if importlib.util.find_spec(s.package) is not None]
