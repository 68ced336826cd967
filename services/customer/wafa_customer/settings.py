"""Settings of the customer service (env prefix `WAFA_CUSTOMER_`)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_CUSTOMER_")

    service_name: ClassVar[str] = "customer"
    default_port: ClassVar[int] = 8001

    default_country: str = Field("SA", description="Region used to read phone numbers written without a country code (ISO 3166 alpha-2).")
    referral_limit: int = Field(10, ge=1, description="Most referrals one advocate may make per `referral_period_days` (fraud check).")
    referral_period_days: int = Field(30, ge=1, description="Length of the referral-limit window, in days.")
    import_chunk_rows: int = Field(2000, ge=1, description="Rows applied per transaction by the bulk import.")
    import_parallel_bytes: int = Field(4_000_000, ge=0, description="Imports at least this big are parsed in a second process, in parallel with writing.")
    import_max_errors: int = Field(10_000, ge=0, description="Per-row errors kept in an import job's report.")
