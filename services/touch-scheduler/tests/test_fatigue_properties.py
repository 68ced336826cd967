"""Property-based tests of the fatigue policy: whatever plans and events produce, a simulated
dispatch that goes through `fatigue.decide` never breaks the policy or consent."""

from __future__ import annotations

import heapq
import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from wafa_touch.domain.channels import CHANNELS, INSTANT_CHANNELS, consent_allows
from wafa_touch.domain.fatigue import Candidate, Contact, Policy, decide, effective_channel
from wafa_touch.domain.timing import Facts, TouchDef, in_quiet, materialise, zone

START = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = ["UTC", "Asia/Riyadh", "Pacific/Auckland", "America/New_York", "Asia/Kolkata"]

policies = st.builds(
    Policy,
    max_per_7d=st.integers(1, 5),
    max_per_30d=st.integers(1, 12),
    min_gap_hours=st.integers(0, 72),
    quiet_start=st.one_of(st.none(), st.times().map(lambda t: t.replace(second=0, microsecond=0))),
    quiet_end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    respect_preferred=st.booleans(),
    exempt_priority=st.just(100),
    default_time_zone=st.sampled_from(ZONES),
)
contacts = st.builds(
    Contact,
    consents=st.dictionaries(st.sampled_from(["email", "sms", "phone", "post", "push"]), st.sampled_from(["granted", "withdrawn", "unknown"])),
    time_zone=st.one_of(st.none(), st.sampled_from(ZONES)),
    preferred_channel=st.one_of(st.none(), st.sampled_from(["email", "sms", "push", "phone"])),
    quiet_start=st.one_of(st.none(), st.just(time(22, 0))),
    quiet_end=st.one_of(st.none(), st.just(time(7, 30))),
    erased=st.just(False),
)
touches = st.lists(
    st.tuples(
        st.integers(0, 60 * 24 * 90),  # due, in minutes after START
        st.sampled_from(CHANNELS),
        st.sampled_from([10, 20, 30, 40, 50, 90]),  # below the exemption
        st.integers(0, 20),  # window, days
    ),
    min_size=1,
    max_size=60,
)


def simulate(items: list[tuple[int, str, int, int]], contact: Contact, policy: Policy) -> tuple[list[tuple[datetime, str]], list[str]]:
    """Run a dispatcher over the touches: at each due time, ask the policy; postponed touches
    come back at their new time. Returns what was sent (time, channel) and skip reasons."""
    queue = [(START + timedelta(minutes=m), -prio, i, ch, START + timedelta(minutes=m, days=w)) for i, (m, ch, prio, w) in enumerate(items)]
    heapq.heapify(queue)
    sent: list[tuple[datetime, str]] = []
    skipped: list[str] = []
    guard = 0
    while queue:
        guard += 1
        assert guard < 10_000
        now, neg_prio, i, ch, window_end = heapq.heappop(queue)
        d = decide(Candidate(ch, -neg_prio, window_end), [s for s, _ in sent], contact, policy, now)
        if d.action == "send":
            sent.append((now, d.channel))
        elif d.action == "postpone":
            assert d.at is not None and now < d.at <= window_end
            heapq.heappush(queue, (d.at, neg_prio, i, ch, window_end))
        else:
            skipped.append(d.reason or "")
    return sent, skipped


@settings(max_examples=300, deadline=None)
@given(touches, contacts, policies)
def test_dispatch_never_breaks_frequency_caps_gaps_or_quiet_hours(items: list[tuple[int, str, int, int]], contact: Contact, policy: Policy) -> None:
    sent, _ = simulate(items, contact, policy)
    times = sorted(t for t, _ in sent)
    for a, b in itertools.pairwise(times):
        assert b - a >= timedelta(hours=policy.min_gap_hours)
    for t in times:
        assert sum(1 for u in times if t - timedelta(days=7) < u <= t) <= policy.max_per_7d
        assert sum(1 for u in times if t - timedelta(days=30) < u <= t) <= policy.max_per_30d
    tz = zone(contact.time_zone, policy.default_time_zone)
    qs, qe = (contact.quiet_start, contact.quiet_end) if contact.quiet_start and contact.quiet_end else (policy.quiet_start, policy.quiet_end)
    for t, ch in sent:
        if ch in INSTANT_CHANNELS:
            assert not in_quiet(t.astimezone(tz).time(), qs, qe), (t, ch)


@settings(max_examples=300, deadline=None)
@given(touches, contacts, policies, st.booleans())
def test_dispatch_never_contacts_without_consent_even_for_service_recovery(
    items: list[tuple[int, str, int, int]], contact: Contact, policy: Policy, recovery: bool
) -> None:
    if recovery:
        items = [(m, ch, 100, w) for m, ch, _, w in items]
    sent, skipped = simulate(items, contact, policy)
    for _, ch in sent:
        assert consent_allows(ch, contact.consents)
    for _, ch, _, _ in items:
        eff = effective_channel(ch, contact, policy)
        if not consent_allows(eff, contact.consents):
            assert f"no-consent:{eff}" in skipped


@settings(max_examples=100, deadline=None)
@given(touches, policies)
def test_an_erased_customer_is_never_contacted(items: list[tuple[int, str, int, int]], policy: Policy) -> None:
    everything = Contact(consents={c: "granted" for c in ("email", "sms", "phone", "post", "push")}, erased=True)
    sent, skipped = simulate(items, everything, policy)
    assert sent == [] and set(skipped) == {"customer-erased"}


def test_monthly_plan_budget_postpones_to_next_month_or_skips_when_the_window_closes() -> None:
    now = datetime(2026, 1, 30, 12, 0, tzinfo=UTC)
    reset = datetime(2026, 2, 1, tzinfo=UTC)
    contact = Contact(consents={"email": "granted"}, time_zone="UTC")
    policy = Policy(quiet_start=None, quiet_end=None)
    wide = Candidate("email", 10, now + timedelta(days=7), Decimal("5"), Decimal("4.99"), reset)
    assert decide(wide, [], contact, policy, now).at == reset
    narrow = Candidate("email", 10, now + timedelta(hours=12), Decimal("5"), Decimal("4.99"), reset)
    assert decide(narrow, [], contact, policy, now).reason == "plan-budget-exhausted"


def test_the_preferred_channel_replaces_email_when_the_customer_consented_to_it() -> None:
    contact = Contact(consents={"email": "granted", "sms": "granted"}, preferred_channel="sms", time_zone="UTC")
    d = decide(Candidate("email", 10, START + timedelta(days=1)), [], contact, Policy(quiet_start=None, quiet_end=None), START)
    assert (d.action, d.channel) == ("send", "sms")


def test_a_third_contact_in_a_week_waits_until_the_oldest_leaves_the_window() -> None:
    contact = Contact(consents={"email": "granted"}, time_zone="UTC")
    policy = Policy(max_per_7d=2, min_gap_hours=0, quiet_start=None, quiet_end=None)
    history = [START, START + timedelta(days=2)]
    d = decide(Candidate("email", 10, START + timedelta(days=10)), history, contact, policy, START + timedelta(days=3))
    assert (d.action, d.at, d.reason) == ("postpone", START + timedelta(days=7), "max-per-7d")


timings = st.one_of(
    st.builds(lambda o, e, c: {"kind": "cadence", "offset_days": o, "every_days": e, "count": c}, st.integers(0, 60), st.integers(1, 40), st.integers(1, 12)),
    st.builds(lambda o, h: {"kind": "after_event", "offset_days": o, "offset_hours": h}, st.integers(0, 30), st.integers(0, 23)),
    st.builds(lambda m, d: {"kind": "fixed_date", "month": m, "day": d}, st.integers(1, 12), st.integers(1, 28)),
    st.sampled_from(
        [{"kind": "holiday", "holiday": "Eid al-Fitr"}, {"kind": "holiday", "holiday": "Eid al-Adha"}, {"kind": "personal_date", "personal": "birthday"}]
    ),
)
plan_defs = st.lists(
    st.builds(
        lambda i, ch, prio, timing, window: TouchDef.model_validate(
            {"key": f"t{i}", "channel": ch, "priority": prio, "content_key": "monthly-newsletter", "timing": {**timing, "window_days": window}}
        ),
        st.integers(0, 10_000),
        st.sampled_from(CHANNELS),
        st.sampled_from([10, 20, 50, 90]),
        timings,
        st.integers(0, 14),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda d: d.key,
)


@settings(max_examples=150, deadline=None)
@given(plan_defs, st.lists(st.integers(0, 60 * 24 * 200), min_size=1, max_size=3), contacts, policies, st.sampled_from(["SA", "AE", "EG", "GB"]))
def test_random_plans_enrolled_by_random_events_never_break_the_policy_or_consent(
    defs: list[TouchDef], event_minutes: list[int], contact: Contact, policy: Policy, country: str
) -> None:
    """Each event enrols the customer in the random plan again (as repeatable plans do); every
    materialised touch then goes through the simulated dispatcher."""
    facts = Facts(time_zone=contact.time_zone, country=country, birth_date=date(1990, 2, 28), quiet_start=contact.quiet_start, quiet_end=contact.quiet_end)
    by_key = {d.key: d for d in defs}
    items: list[tuple[int, str, int, int]] = []
    for m in event_minutes:
        for p in materialise(defs, facts, START + timedelta(minutes=m), default_tz=policy.default_time_zone):
            if p.due_at is not None:
                d = by_key[p.def_key]
                items.append((int((p.due_at - START).total_seconds() // 60), d.channel, d.priority, d.timing.window_days))
    if not items:
        return
    sent, _ = simulate(items, contact, policy)
    times = sorted(t for t, _ in sent)
    for a, b in itertools.pairwise(times):
        assert b - a >= timedelta(hours=policy.min_gap_hours)
    for t in times:
        assert sum(1 for u in times if t - timedelta(days=7) < u <= t) <= policy.max_per_7d
        assert sum(1 for u in times if t - timedelta(days=30) < u <= t) <= policy.max_per_30d
    for _, ch in sent:
        assert consent_allows(ch, contact.consents)
