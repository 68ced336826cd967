"""The earning and tier rules as plain functions (no database), against hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from wafa_loyalty.domain.coupon_codes import ALPHABET, new_code, normalise
from wafa_loyalty.domain.earning import Line, compute_earning, proportional, round_points
from wafa_loyalty.domain.tiers import TierDef, add_months, next_tier, progress_message, review_at, tier_for, window

AT = datetime(2026, 5, 20, 10, tzinfo=UTC)
TIERS = [
    TierDef("Silver", 0, Decimal(0), Decimal(1)),
    TierDef("Gold", 1, Decimal(1000), Decimal("1.5")),
    TierDef("Club", 2, Decimal(999999), Decimal(2), paid=True),
]


def test_rounding_rules_round_whole_points_down_half_even_or_up() -> None:
    assert [round_points(Decimal("10.5"), r) for r in ("down", "half_even", "up")] == [Decimal(10), Decimal(10), Decimal(11)]
    assert round_points(Decimal("11.5"), "half_even") == Decimal(12)


def test_sku_rule_wins_over_category_rule_and_expired_rules_are_ignored() -> None:
    rules = {
        "sku_multipliers": [{"match": "A", "multiplier": "4"}, {"match": "B", "multiplier": "9", "valid_until": "2026-05-01T00:00:00+00:00"}],
        "category_multipliers": [{"match": "toys", "multiplier": "2"}],
    }
    lines = [Line("A", "toys", Decimal(1), Decimal(10)), Line("B", "toys", Decimal(2), Decimal(5)), Line("C", None, Decimal(1), Decimal("3.3"))]
    e = compute_earning(
        lines=lines, earn_rate=Decimal(1), rounding="down", rules=rules, tier_multiplier=Decimal(1), birth_date=None, occurred_at=AT, first_purchase=False
    )
    assert e.base == Decimal(63)  # 10x4 + 10x2 + 3.3 = 63.3 -> 63


def test_tier_and_birthday_multipliers_compose_and_the_first_purchase_bonus_is_separate() -> None:
    e = compute_earning(
        lines=[Line("A", None, Decimal(3), Decimal("33.33"))],
        earn_rate=Decimal(2),
        rounding="half_even",
        rules={"birthday_multiplier": "2", "first_purchase_bonus": "50"},
        tier_multiplier=Decimal("1.5"),
        birth_date=date(1988, 5, 2),
        occurred_at=AT,
        first_purchase=True,
    )
    assert (e.base, e.first_purchase_bonus, e.total) == (Decimal(600), Decimal(50), Decimal(650))  # 99.99 x 2 x 1.5 x 2 = 599.94


def test_partial_refunds_reverse_a_proportional_share() -> None:
    assert proportional(Decimal(99), Decimal("33.33"), Decimal("99.99")) == Decimal(33)
    assert proportional(Decimal(10), Decimal(1), Decimal(0)) == Decimal(0)


def test_months_are_added_on_the_calendar_clamping_to_the_month_end() -> None:
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2028, 3, 31, tzinfo=UTC), -1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)


def test_windows_and_reviews_follow_the_qualification_period() -> None:
    assert window("calendar_year", AT) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert window("rolling_12m", AT) == (datetime(2025, 5, 20, 10, tzinfo=UTC), AT)
    assert review_at("calendar_year", AT, 30) == datetime(2027, 1, 31, tzinfo=UTC)
    assert review_at("rolling_12m", AT, 0) == datetime(2027, 5, 20, 10, tzinfo=UTC)


def test_paid_tiers_are_never_earned_by_credit() -> None:
    assert tier_for(Decimal(5_000_000), TIERS).name == "Gold"  # type: ignore[union-attr]
    assert next_tier(1, TIERS) is None
    assert next_tier(0, TIERS).name == "Gold"  # type: ignore[union-attr]


def test_progress_is_said_in_the_members_currency_up_to_the_last_day_of_the_window() -> None:
    msg = progress_message("spend", Decimal(240), "SAR", "points", datetime(2027, 4, 1, tzinfo=UTC), "Gold")
    assert msg == "spend 240.00 SAR more by 2027-03-31 to reach Gold"


def test_coupon_codes_use_the_readable_alphabet_and_normalise_what_people_type() -> None:
    code = new_code()
    assert len(code.replace("-", "")) == 14 and set(code.replace("-", "")) <= set(ALPHABET)
    assert normalise(code.replace("-", "").lower()) == code
    assert normalise(" cin-001 ") == "CIN001"
