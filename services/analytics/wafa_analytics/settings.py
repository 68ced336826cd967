"""Settings of the analytics service (env prefix `WAFA_ANALYTICS_`)."""

from decimal import Decimal
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_ANALYTICS_")

    service_name: ClassVar[str] = "analytics"
    default_port: ClassVar[int] = 8004

    currency: str = "SAR"
    """Reporting currency: monetary KPIs, CLV and profitability use purchases in this currency."""
    active_window_days: int = 365
    """A customer counts as active at an instant if they bought within this many days before it."""

    # Activity-based costing (per activity, in the reporting currency).
    product_cost_rate: Decimal = Decimal("0.60")
    """Cost of goods as a share of revenue; revenue x (1 - rate) is the product margin."""
    touch_cost_by_channel: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "email": Decimal("0.05"),
            "sms": Decimal("0.10"),
            "push": Decimal("0.01"),
            "post": Decimal("1.50"),
            "phone": Decimal("4.00"),
            "call": Decimal("4.00"),
        }
    )
    """Cost of one delivered touch by channel, used when the touch event carries no cost."""
    service_call_cost: Decimal = Decimal("6.00")
    """Cost of one completed call-centre task (touch channel `phone`/`call` with outcome)."""
    refund_handling_cost: Decimal = Decimal("3.00")
    reward_point_cost: Decimal = Decimal("0.01")
    """Cost of one redeemed point when `reward.redeemed` carries no cost."""

    # At-risk detection.
    at_risk_p_alive: float = 0.3
    high_value_revenue: Decimal = Decimal("1000")
    """Lifetime revenue from which a detractor is flagged at risk at once."""

    platform_health_timeout_s: float = 5.0
    """How long the platform-health view waits for each service's ops summary."""

    consumer_batch_size: int = 5000
    """Larger than the platform default: analytics handlers are set-based, so bigger batches are cheaper per event."""
