"""Channels, the consent each needs, and which become tasks for the team."""

from __future__ import annotations

from typing import Literal

Channel = Literal["email", "sms", "phone", "letter", "card", "gift", "push", "survey_invite"]
CHANNELS: tuple[str, ...] = ("email", "sms", "phone", "letter", "card", "gift", "push", "survey_invite")

# Phone calls, letters and cards are work for a team member, not a partner message.
TASK_CHANNELS = frozenset({"phone", "letter", "card"})
# Sent to a channel partner endpoint as a signed webhook.
MESSAGE_CHANNELS = frozenset({"email", "sms", "push", "gift", "survey_invite"})
# Reach the customer at the instant they are sent, so quiet hours apply.
INSTANT_CHANNELS = frozenset({"email", "sms", "push", "survey_invite"})
# Channels a customer may name as preferred for messages.
PREFERABLE = frozenset({"email", "sms", "push"})

# The consent channel (as the customer service names it) each touch channel needs.
CONSENT_OF: dict[str, str] = {
    "email": "email",
    "survey_invite": "email",
    "sms": "sms",
    "phone": "phone",
    "push": "push",
    "letter": "post",
    "card": "post",
    "gift": "post",
}
# Electronic channels need an explicit grant (opt-in); post is allowed unless withdrawn.
OPT_IN = frozenset({"email", "sms", "phone", "push"})


def consent_allows(channel: str, consents: dict[str, str]) -> bool:
    """Whether the customer's consents allow a touch on `channel`."""
    needed = CONSENT_OF[channel]
    status = consents.get(needed, "unknown")
    if needed in OPT_IN:
        return status == "granted"
    return status != "withdrawn"
