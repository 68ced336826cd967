"""The demo business (issue #8): generated from a seed, loaded through the public APIs, and then
visible with the right numbers in every service; loading it again changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from wafa_shared.demo import generate, seed_demo
from wafa_shared.testing.events import eventually
from wafa_shared.testing.platform import RunningPlatform, launch_platform

pytestmark = pytest.mark.slow
CUSTOMERS, MONTHS, SEED = 150, 18, 11


def test_the_generator_is_deterministic_and_looks_like_a_business() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    a, b = generate(400, 18, 3, now), generate(400, 18, 3, now)
    assert [p.email for p in a.customers] == [p.email for p in b.customers]
    assert a.purchases == b.purchases
    buyers = [c for c in a.customers if c.purchases]
    repeaters = [c for c in buyers if len(c.purchases) > 1]
    assert len(buyers) == 400 and 0.4 < len(repeaters) / len(buyers) < 0.95  # some buy once and leave
    assert all(a.start <= p.occurred_at < a.end for c in a.customers for p in c.purchases)
    assert a.end - a.start >= timedelta(days=540)
    # satisfaction drives behaviour: the happier half buys more often
    ranked = sorted(buyers, key=lambda c: c.satisfaction)
    assert sum(len(c.purchases) for c in ranked[200:]) > sum(len(c.purchases) for c in ranked[:200])
    assert a.referees and sum(len(c.answers) for c in a.customers) > 50


@pytest.fixture(scope="module")
def demo_platform(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    with launch_platform(infra, Path(tmp_path_factory.mktemp("demo")), "demo") as running:
        yield running


async def test_the_demo_loads_through_the_apis_and_every_service_agrees(demo_platform: RunningPlatform) -> None:
    stages: set[str] = set()
    now = datetime.now(UTC)
    summary = await seed_demo(
        demo_platform.urls, demo_platform.token, customers=CUSTOMERS, months=MONTHS, seed=SEED, progress=lambda s, d, n: stages.add(s), now=now
    )
    business = generate(CUSTOMERS, MONTHS, SEED, now)
    assert summary.customers == CUSTOMERS and summary.purchases > CUSTOMERS
    assert summary.referrals > 0 and summary.responses > 0
    assert {"customers", "purchases", "survey responses"} <= stages
    # what the generator made is what was posted (generation depends on the seed, not on the day)
    assert summary.responses == sum(len(c.answers) for c in business.customers)
    # the team takes leads (customer service) and call tasks (touch scheduler), not "unassigned"
    async with demo_platform.client("touch-scheduler") as touch:
        team = (await touch.get("/v1/team-members")).json()
    assert {m["name"] for m in team if m["active"]} == {"noura.sales", "khalid.sales"}

    analytics = demo_platform.client("analytics")
    period = {"from": (summary.first_purchase_at - timedelta(days=1)).date().isoformat(), "to": (datetime.now(UTC) + timedelta(days=1)).date().isoformat()}

    async def revenue_seen() -> Any:
        kpis = (await analytics.get("/v1/kpis", params=period)).json()["kpis"]
        return kpis if Decimal(str(kpis["revenue"])) == summary.revenue else None

    kpis = await eventually(revenue_seen, timeout_s=120, interval_s=0.5)
    assert kpis["nps"] is not None and kpis["referral_rate"] is not None

    loyalty = demo_platform.client("loyalty")
    some = next(iter(summary.ids.values()))
    member = (await loyalty.get(f"/v1/members/{some}")).json()
    ledger = (await loyalty.get(f"/v1/members/{some}/ledger", params={"limit": 500})).json()["items"]
    assert Decimal(str(member["available"])) == sum((Decimal(str(e["points"])) for e in ledger), Decimal("0"))

    cohorts = (await analytics.get("/v1/cohorts", params=period)).json()
    assert len(cohorts["cohorts"]) >= MONTHS - 1

    # loading the same seed again adds nothing: idempotency keys, order ids, the survey by name
    again = await seed_demo(demo_platform.urls, demo_platform.token, customers=CUSTOMERS, months=MONTHS, seed=SEED, now=now)
    assert again.ids.keys() >= {p.key for p in business.customers}
    assert all(again.ids[p.key] == summary.ids[p.key] for p in business.customers)
    assert again.referrals == 0 and again.responses == 0
    after = (await analytics.get("/v1/kpis", params=period)).json()["kpis"]
    assert Decimal(str(after["revenue"])) == summary.revenue
    await analytics.aclose()
    await loyalty.aclose()
