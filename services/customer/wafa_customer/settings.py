"""Settings of the customer service (env prefix `WAFA_CUSTOMER_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_CUSTOMER_")

    service_name: ClassVar[str] = "customer"
    default_port: ClassVar[int] = 8001
