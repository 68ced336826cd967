"""Settings of the loyalty service (env prefix `WAFA_LOYALTY_`)."""

from typing import ClassVar, Literal

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_LOYALTY_")

    service_name: ClassVar[str] = "loyalty"
    default_port: ClassVar[int] = 8002

    # Standard Webhooks secrets (`whsec_...`) of POS / e-commerce partners posting purchases.
    partner_secrets: list[str] = []
    # Failed coupon redemptions allowed per caller per window before 429 (guessing defence).
    coupon_failure_limit: int = 20
    coupon_failure_window_s: float = 60.0
    # "Points expiring soon" on the member view looks this many days ahead.
    expiring_soon_days: int = 30
    max_batch_purchases: int = 10_000
    # Single purchases are committed in groups (`purchase_queue`): at most this many group
    # transactions at once; what arrives meanwhile waits for the next group.
    purchase_lanes: int = 2
    jobs_interval_s: float = 60.0
    # The purchase write (one statement over arrays) took longer to plan than to run, every
    # time: generic plans cut PostgreSQL's share of a purchase and lifted POST /v1/purchases
    # at c=32 from 458 to 577-600/s (bench/RESULTS.md, 2026-12-06 second session).
    db_plan_cache_mode: Literal["auto", "force_generic_plan", "force_custom_plan"] = "force_generic_plan"
