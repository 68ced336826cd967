# ruff: noqa: RUF001
"""The rules without I/O: normalising contacts, referral checks, lead routing, lifecycle, rules."""

from __future__ import annotations

from datetime import date

import pytest

from wafa_customer.domain import contact, lifecycle
from wafa_customer.domain.attributes import FieldDef, validate_attributes
from wafa_customer.domain.lead_routing import Member, choose_owner
from wafa_customer.domain.referral_checks import Person, check_referral
from wafa_customer.domain.segment_rules import RuleError, validate_rule


def test_a_saudi_mobile_written_two_ways_is_one_e164_number() -> None:
    assert contact.normalize_phone("+966 50 123 4567", None) == "+966501234567"
    assert contact.normalize_phone("0501234567", "SA") == "+966501234567"
    assert contact.normalize_phone("00966-50-123-4567", "SA") == "+966501234567"


def test_a_phone_prefix_typed_in_search_becomes_an_e164_prefix() -> None:
    assert contact.phone_prefix_key("0501", "SA") == "+966501"
    assert contact.phone_prefix_key("+966 50", "SA") == "+96650"
    assert contact.phone_prefix_key("00966-50", "SA") == "+96650"
    assert contact.phone_prefix_key("٠٥٠١", "SA") == "+966501"  # Arabic-Indic digits


def test_an_invalid_phone_is_refused_with_a_reason() -> None:
    with pytest.raises(contact.InvalidContact):
        contact.normalize_phone("12", "SA")
    with pytest.raises(contact.InvalidContact):
        contact.normalize_phone("not a number", "SA")


def test_emails_are_lower_cased_and_their_canonical_mailbox_ignores_tags_and_gmail_dots() -> None:
    assert contact.normalize_email("Sara.Ahmed@Example.COM") == "sara.ahmed@example.com"
    assert contact.canonical_email("sara.ahmed+promo@gmail.com") == "saraahmed@gmail.com"
    assert contact.canonical_email("sara.ahmed+x@example.com") == "sara.ahmed@example.com"
    with pytest.raises(contact.InvalidContact):
        contact.normalize_email("sara@")


def test_name_search_key_ignores_case_accents_harakat_and_arabic_letter_variants() -> None:
    assert contact.search_key("José", "ÁLVAREZ") == "jose alvarez"
    assert contact.search_key("أَحْمَد") == contact.search_key("احمد") == "احمد"
    assert contact.search_key("فاطمة") == contact.search_key("فاطمه")
    assert contact.search_key("مصطفى") == contact.search_key("مصطفي")
    assert contact.search_key("  ", None) is None


def test_time_zone_country_language_and_birth_date_checks() -> None:
    assert contact.check_time_zone("Asia/Riyadh") == "Asia/Riyadh"
    with pytest.raises(contact.InvalidContact):
        contact.check_time_zone("Mars/Olympus")
    assert contact.check_country("sa") == "SA"
    with pytest.raises(contact.InvalidContact):
        contact.check_country("XX")
    assert contact.check_language("ar-SA") == "ar-SA"
    with pytest.raises(contact.InvalidContact):
        contact.check_language("Arabic!")
    with pytest.raises(contact.InvalidContact):
        contact.check_birth_date(date(2030, 1, 1), today=date(2026, 1, 1))


def test_referral_codes_use_a_readable_alphabet() -> None:
    codes = {contact.new_referral_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and not set(c) & set("01IO") for c in codes)


ADVOCATE = Person("sara@example.com", "+966501234567")


def _check(referee: Person, existing: str | None = None, recent: int = 0) -> str | None:
    r = check_referral(ADVOCATE, referee, existing_lifecycle=existing, recent_referrals=recent, limit=3, period_days=30)
    return r.reason if r else None


def test_referral_checks_reject_self_referral_known_people_and_too_many_referrals() -> None:
    assert _check(Person("sara@example.com", None)) == "self_referral_email"
    assert _check(Person("new@example.com", "+966501234567")) == "self_referral_phone"
    assert _check(Person("new@example.com", None), existing="customer") == "referee_already_customer"
    assert _check(Person("new@example.com", None), existing="lead") == "referee_already_referred"
    assert _check(Person("new@example.com", None), recent=3) == "advocate_limit_exceeded"
    assert _check(Person("new@example.com", None), recent=2) is None


def test_leads_go_to_matching_rule_first_then_round_robin_among_the_rest() -> None:
    members = [Member("ali", ["SA"], [], 5), Member("mona", [], [], 2), Member("omar", [], [], 1), Member("huda", ["AE"], ["ar"], 0)]
    assert choose_owner(members, country="SA", language="en") == "ali"
    assert choose_owner(members, country="AE", language="ar-AE") == "huda"
    assert choose_owner(members, country="EG", language="ar") == "omar"  # least recently assigned catch-all
    assert choose_owner([], country="SA", language=None) is None


def test_lifecycle_moves_forward_and_former_customers_can_come_back() -> None:
    assert lifecycle.can_move("lead", "customer")
    assert lifecycle.can_move("former", "customer")
    assert not lifecycle.can_move("customer", "lead")
    assert not lifecycle.can_move("former", "prospect")


def test_custom_attributes_must_be_defined_and_typed() -> None:
    defs = {"vip_since": FieldDef("vip_since", "date", False), "segment": FieldDef("segment", "enum", True, ("a", "b"))}
    assert validate_attributes({"segment": "a", "vip_since": "2024-01-02"}, defs) == []
    problems = dict(validate_attributes({"shoe_size": 42, "vip_since": "soon"}, defs))
    assert problems == {"shoe_size": "is not a defined custom field", "vip_since": "must be a date (YYYY-MM-DD)", "segment": "is required"}


def test_segment_rules_name_the_invalid_part() -> None:
    validate_rule({"all": [{"field": "country", "op": "eq", "value": "SA"}, {"not": {"field": "tags", "op": "contains", "value": "vip"}}]})
    with pytest.raises(RuleError) as err:
        validate_rule({"any": [{"field": "country", "op": "eq", "value": "SA"}, {"field": "total_spend", "op": "contains", "value": 3}]})
    assert err.value.path == "rule.any.1.op"
    with pytest.raises(RuleError) as err:
        validate_rule({"field": "shoe", "op": "eq", "value": 1})
    assert err.value.path == "rule.field"
