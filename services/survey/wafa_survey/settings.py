"""Settings of the survey service (env prefix `WAFA_SURVEY_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_SURVEY_")

    service_name: ClassVar[str] = "survey"
    default_port: ClassVar[int] = 8003
