"""Settings of the touch scheduler service (env prefix `WAFA_TOUCH_SCHEDULER_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_TOUCH_SCHEDULER_")

    service_name: ClassVar[str] = "touch-scheduler"
    default_port: ClassVar[int] = 8005
