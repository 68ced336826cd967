"""Materialisation of plans into dated touches (pure rules, no database)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from wafa_touch.domain.builtin_plans import BUILTIN_PLANS, CLIENT_FOR_LIFE
from wafa_touch.domain.timing import Facts, Timing, TouchDef, in_quiet, materialise, materialise_many

RIYADH = ZoneInfo("Asia/Riyadh")
CFL = [TouchDef.model_validate(t) for t in CLIENT_FOR_LIFE]
ANCHOR = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def test_client_for_life_template_promises_exactly_33_touches() -> None:
    assert sum(d.timing.count for d in CFL) == 33


def test_client_for_life_dates_all_33_touches_within_12_months_for_a_saudi_customer_with_a_birthday() -> None:
    facts = Facts(time_zone="Asia/Riyadh", country="SA", birth_date=date(1990, 7, 4))
    planned = materialise(CFL, facts, ANCHOR)
    assert len(planned) == 33
    assert all(p.due_at is not None for p in planned), [p for p in planned if p.due_at is None]
    assert all(ANCHOR <= p.due_at <= datetime(2027, 1, 11, tzinfo=UTC) for p in planned if p.due_at)
    counts = Counter(p.def_key for p in planned)
    assert counts["monthly-newsletter"] == 12 and counts["check-in-call"] == 4 and counts["sms-tip"] == 4


def test_birthday_card_is_due_at_ten_in_the_morning_of_the_birthday_in_the_customers_time_zone() -> None:
    facts = Facts(time_zone="Pacific/Auckland", country="NZ", birth_date=date(1985, 3, 15))
    planned = {p.def_key: p for p in materialise(CFL, facts, ANCHOR)}
    due = planned["birthday-card"].due_at
    assert due is not None
    local = due.astimezone(ZoneInfo("Pacific/Auckland"))
    assert (local.date(), local.time()) == (date(2026, 3, 15), time(10, 0))
    assert due == datetime(2026, 3, 14, 21, 0, tzinfo=UTC)  # NZDT is UTC+13 in March


def test_eid_cards_follow_the_customers_country_calendar() -> None:
    planned = {p.def_key: p for p in materialise(CFL, Facts(time_zone="Asia/Riyadh", country="SA"), ANCHOR)}
    assert planned["eid-al-fitr-card"].due_at == datetime(2026, 3, 19, 7, 0, tzinfo=UTC)  # 10:00 Riyadh
    assert planned["eid-al-adha-card"].due_at == datetime(2026, 5, 27, 7, 0, tzinfo=UTC)


def test_a_holiday_the_country_does_not_observe_is_accounted_for_as_skipped_with_its_reason() -> None:
    planned = {p.def_key: p for p in materialise(CFL, Facts(time_zone="America/Chicago", country="US", birth_date=date(1990, 1, 1)), ANCHOR)}
    assert planned["eid-al-fitr-card"].due_at is None
    assert planned["eid-al-fitr-card"].skip_reason == "holiday-not-observed"


def test_a_customer_without_a_birth_date_gets_the_birthday_card_skipped_as_no_birth_date() -> None:
    planned = {p.def_key: p for p in materialise(CFL, Facts(country="SA"), ANCHOR)}
    assert planned["birthday-card"].skip_reason == "no-birth-date"


def test_instant_messages_never_fall_in_the_customers_quiet_hours() -> None:
    facts = Facts(time_zone="Asia/Riyadh", country="SA", birth_date=date(1990, 7, 4), quiet_start=time(20, 0), quiet_end=time(11, 0))
    planned = materialise(CFL, facts, ANCHOR)
    by_key = {d.key: d for d in CFL}
    for p in planned:
        assert p.due_at is not None
        if by_key[p.def_key].channel in ("email", "sms", "push", "survey_invite"):
            assert not in_quiet(p.due_at.astimezone(RIYADH).time(), time(20, 0), time(11, 0)), p
    newsletter = next(p for p in planned if p.def_key == "monthly-newsletter")
    assert newsletter.due_at is not None and newsletter.due_at.astimezone(RIYADH).time() == time(11, 0)


def test_cadence_starts_counting_from_the_enrolment_day_in_local_time() -> None:
    d = TouchDef(key="n", channel="email", content_key="monthly-newsletter", timing=Timing(kind="cadence", offset_days=14, every_days=30, count=3))
    planned = materialise([d], Facts(time_zone="Asia/Riyadh"), ANCHOR)
    assert [p.due_at for p in planned] == [
        datetime(2026, 1, 24, 7, 0, tzinfo=UTC),
        datetime(2026, 2, 23, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 25, 7, 0, tzinfo=UTC),
    ]


def test_a_custom_personal_date_is_celebrated_on_its_next_anniversary() -> None:
    d = TouchDef(key="wedding", channel="card", content_key="personal-date-card", timing=Timing(kind="personal_date", personal="custom:wedding"))
    planned = materialise([d], Facts(time_zone="UTC", custom_dates={"wedding": date(2015, 1, 5)}), ANCHOR)
    assert planned[0].due_at == datetime(2027, 1, 5, 10, 0, tzinfo=UTC)


def test_leaving_quiet_hours_that_end_in_a_skipped_dst_hour_lands_after_them() -> None:
    """Found by hypothesis: quiet 00:00-02:00 in New York on 8 March 2026, when 02:00 does not exist."""
    from wafa_touch.domain.timing import leave_quiet

    ny = ZoneInfo("America/New_York")
    at = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST, inside quiet hours
    for end in (time(2, 0), time(2, 0, fold=1)):
        moved = leave_quiet(at, ny, time(0, 0), end)
        assert moved > at and not in_quiet(moved.astimezone(ny).time(), time(0, 0), end)
        assert moved == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT


ALL_BUILTIN = [TouchDef.model_validate(t) for p in BUILTIN_PLANS for t in p["touches"]]
quiet_hours = st.sampled_from([(None, None), (time(20, 0), time(11, 0)), (time(1, 0), time(3, 0))])
# Enrolments draw their facts from a few profiles, so they share them: personal dates on the anchor days (their
# touch falls on the first day, before or after the anchor), the same day in other years.
facts = st.builds(
    lambda tz, country, birth, wedding, quiet: Facts(
        time_zone=tz, country=country, birth_date=birth, custom_dates={"wedding": wedding} if wedding else {}, quiet_start=quiet[0], quiet_end=quiet[1]
    ),
    st.sampled_from([None, "Asia/Riyadh", "Europe/London"]),
    st.sampled_from([None, "SA", "US"]),
    st.sampled_from([None, date(1990, 3, 7), date(1984, 3, 7), date(1992, 2, 29), date(1990, 3, 8)]),
    st.sampled_from([None, date(2015, 3, 8), date(2011, 3, 8)]),
    quiet_hours,
)
# Anchors on the personal dates' days, around 10:00 in Riyadh and London, to the microsecond.
SIX_HOURS_US = 6 * 3_600 * 10**6
anchors = st.builds(lambda day, us: datetime(2026, 3, 7, 5, tzinfo=UTC) + timedelta(days=day, microseconds=us), st.integers(0, 1), st.integers(0, SIX_HOURS_US))


@settings(max_examples=60, deadline=None)
@given(st.lists(facts, min_size=1, max_size=4).flatmap(lambda pool: st.lists(st.tuples(st.sampled_from(pool), anchors), min_size=1, max_size=40)))
def test_planning_many_enrolments_at_once_dates_each_as_if_planned_alone(items: list[tuple[Facts, datetime]]) -> None:
    """The planner shares work between enrolments with the same profile: sharing must never
    change an enrolment's dates (profiles differing only in a personal date's year, anchors
    on either side of a touch's instant on the first day)."""
    together = materialise_many(ALL_BUILTIN, items, default_tz="Asia/Riyadh", default_country="SA")
    alone = [materialise_many(ALL_BUILTIN, [item], default_tz="Asia/Riyadh", default_country="SA")[0] for item in items]
    assert together == alone
