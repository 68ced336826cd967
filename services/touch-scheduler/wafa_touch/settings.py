"""Settings of the touch scheduler service (env prefix `WAFA_TOUCH_SCHEDULER_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings
from wafa_shared.webhooks.worker import RETRY_SCHEDULE_S


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_TOUCH_SCHEDULER_")

    service_name: ClassVar[str] = "touch-scheduler"
    default_port: ClassVar[int] = 8005

    default_time_zone: str = "Asia/Riyadh"  # customers without a time zone
    default_country: str = "SA"  # holiday calendar of customers without a country
    dispatch_interval_s: float = 5.0
    dispatch_batch_size: int = 2000
    dispatch_concurrency: int = 64
    # `touch.scheduled` is published when a touch comes due within this window, not when it is
    # materialised (job `announce-due-touches`, every `announce_interval_s`).
    announce_window_days: float = 7.0
    announce_interval_s: float = 60.0
    announce_batch_size: int = 5000
    partner_timeout_s: float = 5.0
    partner_retry_schedule_s: tuple[float, ...] = RETRY_SCHEDULE_S
    default_assignee: str = "unassigned"
