"""Settings of the survey service (env prefix `WAFA_SURVEY_`)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from wafa_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WAFA_SURVEY_")

    service_name: ClassVar[str] = "survey"
    default_port: ClassVar[int] = 8003

    public_base_url: str = "http://127.0.0.1:8003/r"
    """Base of the respondent link put in `survey.invitation.created` (`<base>/<token>`)."""
    default_fatigue_days: int = 30
    """No more than one invitation per customer per this many days (a survey may ask for more)."""
