"""Settings of the loyalty service (env prefix `WAFA_LOYALTY_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_LOYALTY_")

    service_name: ClassVar[str] = "loyalty"
    default_port: ClassVar[int] = 8002
