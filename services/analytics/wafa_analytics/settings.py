"""Settings of the analytics service (env prefix `WAFA_ANALYTICS_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_ANALYTICS_")

    service_name: ClassVar[str] = "analytics"
    default_port: ClassVar[int] = 8004
