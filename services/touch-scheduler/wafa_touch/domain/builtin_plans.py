"""The plans shipped with Wafa, as data (seeded idempotently at start-up, editable afterwards),
and the content templates touches may name.

*33 Touch — Client for Life* holds exactly 33 touches over the first 12 months after the first
purchase: a thank-you letter, 12 monthly newsletters, 4 check-in calls, birthday and purchase
anniversary cards, Eid al-Fitr and Eid al-Adha cards, a new-year greeting, 2 useful give-aways,
4 SMS, 2 survey invitations, a half-year thank-you letter and 2 push notes (1+12+4+2+3+2+4+2+1+2).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

RECOVERY_PRIORITY = 100
PERSONAL_PRIORITY = 50
NEWSLETTER_PRIORITY = 10

# Content templates (key -> what it is). Touches may only name these keys.
CONTENT_TEMPLATES: dict[str, str] = {
    "thank-you-first-purchase": "شكراً لك — thank-you letter after the first purchase",
    "thank-you-half-year": "Half-year appreciation letter",
    "monthly-newsletter": "Monthly newsletter with useful news and tips (رسالة إخبارية)",
    "check-in-call": "Periodic check-in call script (مكالمة اطمئنان)",
    "birthday-card": "Birthday card (بطاقة تهنئة بعيد الميلاد)",
    "purchase-anniversary-card": "Anniversary of the first purchase",
    "eid-al-fitr-card": "Eid al-Fitr greeting card (عيد الفطر مبارك)",
    "eid-al-adha-card": "Eid al-Adha greeting card (عيد الأضحى مبارك)",
    "new-year-greeting": "New-year greeting",
    "holiday-card": "Generic holiday card",
    "personal-date-card": "Card for a custom personal date",
    "useful-give-away": "Useful give-away (calendar, note cube)",
    "sms-tip": "Short useful tip by SMS",
    "push-note": "Push note",
    "survey-invitation": "Invitation to a satisfaction survey",
    "referral-thank-you": "Thank-you for the referral (شكراً على التوصية)",
    "referral-thank-you-call": "Call to thank the advocate",
    "referred-lead-update": "Update on the referred lead",
    "appreciation-calendar": "Appreciation gift: calendar",
    "appreciation-sports-schedule": "Appreciation gift: sports schedule",
    "inspirational-card": "Inspirational card",
    "advocate-event-invitation": "Invitation to an advocate event",
    "service-recovery-call": "Service recovery call to an unhappy customer (استعادة الخدمة)",
    "service-recovery-follow-up": "Follow-up after the recovery call",
    "win-back-offer": "Win-back offer",
    "win-back-call": "Win-back call",
    "win-back-note": "We miss you note",
}


def _t(
    key: str,
    channel: str,
    content: str,
    timing: dict[str, Any],
    *,
    priority: int = NEWSLETTER_PRIORITY,
    cost: str = "0",
    message: str = "",
    cta: bool = True,
    sla: int = 72,
) -> dict[str, Any]:
    return {
        "key": key,
        "channel": channel,
        "timing": timing,
        "content_key": content,
        "key_message": message,
        "referral_cta": cta,
        "cost": Decimal(cost),
        "priority": priority,
        "sla_hours": sla,
    }


def cadence(offset: int, every: int | None = None, count: int = 1) -> dict[str, Any]:
    return {"kind": "cadence", "offset_days": offset, "every_days": every, "count": count}


CLIENT_FOR_LIFE = [
    _t(
        "thank-you-letter",
        "letter",
        "thank-you-first-purchase",
        {"kind": "after_event", "offset_days": 2},
        priority=PERSONAL_PRIORITY,
        cost="1.50",
        message="Thank you for choosing us.",
    ),
    _t("monthly-newsletter", "email", "monthly-newsletter", cadence(14, 30, 12), cost="0.02", message="Something useful every month."),
    _t("check-in-call", "phone", "check-in-call", cadence(45, 90, 4), priority=40, cost="4.00", message="How is everything going?"),
    _t("birthday-card", "card", "birthday-card", {"kind": "personal_date", "personal": "birthday"}, priority=PERSONAL_PRIORITY, cost="2.00"),
    _t(
        "purchase-anniversary-card",
        "card",
        "purchase-anniversary-card",
        {"kind": "personal_date", "personal": "purchase_anniversary"},
        priority=PERSONAL_PRIORITY,
        cost="2.00",
    ),
    _t("eid-al-fitr-card", "card", "eid-al-fitr-card", {"kind": "holiday", "holiday": "Eid al-Fitr"}, priority=30, cost="2.00"),
    _t("eid-al-adha-card", "card", "eid-al-adha-card", {"kind": "holiday", "holiday": "Eid al-Adha"}, priority=30, cost="2.00"),
    _t("new-year-greeting", "email", "new-year-greeting", {"kind": "fixed_date", "month": 1, "day": 1}, priority=30, cost="0.02"),
    _t("useful-give-away", "gift", "useful-give-away", cadence(100, 180, 2), priority=20, cost="8.00"),
    _t("sms-tip", "sms", "sms-tip", cadence(21, 90, 4), cost="0.05"),
    _t("survey-invitation", "survey_invite", "survey-invitation", cadence(30, 150, 2), priority=20, cost="0.02"),
    _t("half-year-letter", "letter", "thank-you-half-year", cadence(182), priority=30, cost="1.50"),
    _t("push-note", "push", "push-note", cadence(60, 180, 2), cost="0.01"),
]

ADVOCATE_APPRECIATION = [
    _t("referral-thank-you", "letter", "referral-thank-you", {"kind": "after_event", "offset_days": 1}, priority=PERSONAL_PRIORITY, cost="1.50", cta=False),
    _t(
        "referral-thank-you-call",
        "phone",
        "referral-thank-you-call",
        {"kind": "after_event", "offset_days": 3},
        priority=PERSONAL_PRIORITY,
        cost="4.00",
        cta=False,
    ),
    _t("referred-lead-update", "email", "referred-lead-update", cadence(14, 31, 2), priority=40, cost="0.02"),
    _t("appreciation-calendar", "gift", "appreciation-calendar", {"kind": "fixed_date", "month": 12, "day": 15}, priority=30, cost="10.00"),
    _t("appreciation-sports-schedule", "gift", "appreciation-sports-schedule", {"kind": "fixed_date", "month": 8, "day": 1}, priority=30, cost="6.00"),
    _t("inspirational-card", "card", "inspirational-card", cadence(60, 60, 5), priority=20, cost="2.00"),
    _t("advocate-event-invitation", "email", "advocate-event-invitation", cadence(90, 90, 3), priority=30, cost="0.02"),
    _t("monthly-newsletter", "email", "monthly-newsletter", cadence(20, 30, 12), cost="0.02"),
    _t("birthday-card", "card", "birthday-card", {"kind": "personal_date", "personal": "birthday"}, priority=PERSONAL_PRIORITY, cost="2.00"),
    _t("sms-tip", "sms", "sms-tip", cadence(40, 90, 4), cost="0.05"),
    _t("survey-invitation", "survey_invite", "survey-invitation", cadence(100, 180, 2), priority=20, cost="0.02"),
]

SERVICE_RECOVERY = [
    _t(
        "recovery-call",
        "phone",
        "service-recovery-call",
        {"kind": "after_event", "offset_hours": 0, "window_days": 1},
        priority=RECOVERY_PRIORITY,
        cost="5.00",
        cta=False,
        sla=24,
    ),
    _t("recovery-follow-up", "email", "service-recovery-follow-up", {"kind": "after_event", "offset_days": 3}, priority=90, cost="0.02", cta=False),
    _t("recovery-survey", "survey_invite", "survey-invitation", {"kind": "after_event", "offset_days": 14}, priority=60, cost="0.02", cta=False),
]

WIN_BACK = [
    _t("win-back-note", "email", "win-back-note", {"kind": "after_event", "offset_hours": 1}, priority=60, cost="0.02"),
    _t("win-back-sms", "sms", "win-back-offer", {"kind": "after_event", "offset_days": 3}, priority=60, cost="0.05"),
    _t("win-back-call", "phone", "win-back-call", {"kind": "after_event", "offset_days": 7}, priority=70, cost="4.00"),
    _t("win-back-offer", "email", "win-back-offer", {"kind": "after_event", "offset_days": 21}, priority=60, cost="0.02"),
    _t("win-back-survey", "survey_invite", "survey-invitation", {"kind": "after_event", "offset_days": 30}, priority=40, cost="0.02"),
]

BUILTIN_PLANS: list[dict[str, Any]] = [
    {
        "key": "client-for-life",
        "name": "33 Touch — Client for Life (عميل مدى الحياة)",
        "description": "33 valuable contacts in the 12 months after a customer's first purchase.",
        "trigger": "first_purchase",
        "holdout_pct": Decimal("10"),
        "touches": CLIENT_FOR_LIFE,
    },
    {
        "key": "advocate-appreciation",
        "name": "33 Touch — Advocate Appreciation (تقدير المؤيدين)",
        "description": "For customers who referred someone: thanks, appreciation gifts, lead updates, advocate events.",
        "trigger": "referral_made",
        "holdout_pct": Decimal("10"),
        "touches": ADVOCATE_APPRECIATION,
    },
    {
        "key": "service-recovery",
        "name": "Service recovery (reaction)",
        "description": "A detractor (NPS 0-6) or CSAT <= 2 gets a call within 24 h, then a follow-up.",
        "trigger": "detractor_response",
        "repeatable": True,
        "holdout_pct": Decimal("0"),
        "touches": SERVICE_RECOVERY,
    },
    {
        "key": "win-back",
        "name": "At-risk win-back (pre-action)",
        "description": "A customer analytics flags as likely to lapse is won back before they leave.",
        "trigger": "at_risk",
        "holdout_pct": Decimal("10"),
        "touches": WIN_BACK,
    },
]
