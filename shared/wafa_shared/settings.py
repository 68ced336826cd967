"""Typed settings: one pydantic-settings class per service, each with its own env prefix.

Platform-wide values (broker, JWT secret, environment, topic prefix) are read from the same
un-prefixed variables by every service, because they describe one shared installation.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wafa_shared.services import SERVICES

DEV_JWT_SECRET = "wafa-dev-secret-change-me-0123456789abcdef"


def _shared(name: str, default: object) -> object:
    """A field read from one platform-wide variable (no service prefix)."""
    return Field(default=default, validation_alias=AliasChoices(name, name.lower()))


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set `service_name`, `default_port` and the prefix."""

    model_config = SettingsConfigDict(env_prefix="WAFA_", extra="ignore", populate_by_name=True)

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    env: Literal["dev", "test", "prod"] = _shared("WAFA_ENV", "dev")  # type: ignore[assignment]
    kafka_bootstrap_servers: str = _shared("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")  # type: ignore[assignment]
    topic_prefix: str = _shared("WAFA_TOPIC_PREFIX", "")  # type: ignore[assignment]
    topic_partitions: int = _shared("WAFA_TOPIC_PARTITIONS", 6)  # type: ignore[assignment]
    topic_replication: int = _shared("WAFA_TOPIC_REPLICATION", 1)  # type: ignore[assignment]
    jwt_secret: str = _shared("WAFA_JWT_SECRET", DEV_JWT_SECRET)  # type: ignore[assignment]
    jwt_issuer: str = _shared("WAFA_JWT_ISSUER", "wafa")  # type: ignore[assignment]
    log_level: str = _shared("WAFA_LOG_LEVEL", "INFO")  # type: ignore[assignment]
    cors_origins: list[str] = _shared("WAFA_CORS_ORIGINS", [])  # type: ignore[assignment]
    service_urls: dict[str, str] = _shared("WAFA_SERVICE_URLS", {})  # type: ignore[assignment]
    """Base URL of each service by name (JSON object), for the few server-side calls between
    services (analytics' platform health). A missing name means its dev port on 127.0.0.1."""

    host: str = "127.0.0.1"
    port: int = 0
    database_url: str = ""
    db_pool_size: int = 16
    # PostgreSQL's `plan_cache_mode` for the service's connections. "auto" re-plans a prepared
    # statement on every execution when its generic plan looks costlier (array parameters do);
    # a service whose hot statement is planned for longer than it runs sets
    # "force_generic_plan" and writes partial-index predicates literally (CONVENTIONS.md).
    db_plan_cache_mode: Literal["auto", "force_generic_plan", "force_custom_plan"] = "auto"

    relay_enabled: bool = True
    relay_batch_size: int = 1000
    relay_poll_interval_s: float = 0.2
    relay_linger_s: float = 0.02  # after a wake-up, time for more commits to join the batch
    outbox_retention_hours: float = 72.0
    consumers_enabled: bool = True
    consumer_batch_size: int = 1000
    # How long a consumer gathers a batch once its first events arrive: bigger batches cost
    # fewer transactions and WAL flushes per event, at that much added lag.
    consumer_linger_s: float = 0.05
    consumer_max_attempts: int = 5
    consumer_retry_backoff_s: float = 0.05
    consumer_session_timeout_ms: int = 10000
    consumer_heartbeat_ms: int = 3000
    consumer_group_suffix: str = ""  # set a new value to replay every topic from offset 0
    webhooks_enabled: bool = True
    webhook_timeout_s: float = 10.0
    webhook_concurrency: int = 32
    webhook_poll_interval_s: float = 0.5
    webhook_tolerance_s: int = 300
    rate_limit_per_s: float = 2000.0  # per client (token or address); 0 turns limiting off
    rate_limit_burst: float = 4000.0

    @model_validator(mode="after")
    def _fill_defaults(self) -> ServiceSettings:
        if not self.port:
            self.port = self.default_port
        if not self.database_url:
            self.database_url = f"postgresql+asyncpg://postgres@127.0.0.1:55432/wafa_{self.db_name_suffix()}"
        if self.env == "prod" and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("WAFA_JWT_SECRET must be set to a real secret when WAFA_ENV=prod")
        return self

    @classmethod
    def db_name_suffix(cls) -> str:
        return cls.service_name.replace("-", "_")

    def service_url(self, name: str) -> str:
        """Base URL of a peer service: `WAFA_SERVICE_URLS[name]`, else its dev port."""
        if name in self.service_urls:
            return self.service_urls[name].rstrip("/")
        port = next(s.port for s in SERVICES if s.name == name)
        return f"http://127.0.0.1:{port}"

    def topic(self, logical: str) -> str:
        """The physical topic name for a logical one such as `wafa.loyalty`."""
        return f"{self.topic_prefix}{logical}"
