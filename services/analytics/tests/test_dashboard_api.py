"""The endpoints the dashboard reads besides the KPIs: satisfaction trend, tier distribution, RFM
grid, upcoming touches and overdue tasks, points liability, ops summary and platform health.
Expected values are computed by hand in the comments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import analytics_history as h
from analytics_testkit import NOW, Q1, at, envelopes, get, load, send
from sqlalchemy import text

from wafa_shared.clock import ManualClock
from wafa_shared.events import customer as c
from wafa_shared.events import loyalty as lo
from wafa_shared.events import touch as to
from wafa_shared.testing.events import eventually

D = Decimal
SETTINGS = {"active_window_days": 90}
X, Y = (uuid.uuid5(uuid.NAMESPACE_URL, f"wafa-dash-{n}") for n in "XY")


def _u(*parts: object) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, ["dash", *parts])))


async def test_satisfaction_trend_by_month_and_week_with_tier_filter(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        monthly = await get(svc, "/v1/satisfaction/trend", **Q1)
        # Feb: A (nps 10, csat 5, ces 2, CSI 3.5), D (3, 2, 5, no CSI): NPS (1-1)/2 = 0, CSAT 3.5, CES 3.5, CSI 3.5
        # Mar: C (8, 4, 3), E (9, 3, 4, CSI 5): NPS (1-0)/2 = 50, CSAT 3.5, CES 3.5, CSI 5
        assert [(p["start"], p["responses"], D(p["nps"]), D(p["csat"]), D(p["ces"]), D(p["csi"])) for p in monthly["points"]] == [
            ("2026-02-01", 2, D(0), D("3.5"), D("3.5"), D("3.5")),
            ("2026-03-01", 2, D(50), D("3.5"), D("3.5"), D(5)),
        ]
        weekly = await get(svc, "/v1/satisfaction/trend", bucket="week", **Q1)
        # ISO weeks (from Monday): D Sun 15 Feb -> 9 Feb; A Fri 20 Feb -> 16 Feb; E Thu 5 Mar -> 2 Mar; C Thu 12 Mar -> 9 Mar
        assert [(p["start"], D(p["nps"])) for p in weekly["points"]] == [
            ("2026-02-09", D(-100)),
            ("2026-02-16", D(100)),
            ("2026-03-02", D(100)),
            ("2026-03-09", D(0)),
        ]
        gold = await get(svc, "/v1/satisfaction/trend", tier="gold", **Q1)
        # gold customers A and C: Feb A alone (NPS 100, CSI 3.5); Mar C alone (passive: NPS 0, no CSI)
        assert [(p["start"], D(p["nps"]), p["csi"]) for p in gold["points"]] == [("2026-02-01", D(100), "3.5000"), ("2026-03-01", D(0), None)]


async def test_tier_distribution_counts_customers_buyers_and_revenue_per_current_tier(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        d = await get(svc, "/v1/tiers/distribution", **Q1)
        # 7 customers; gold A, C (both bought in Q1: A 200 + 100, C 120 = 420 SAR);
        # no tier B, D, E, F, G; Q1 buyers D (60), E (30), F (10 USD: a buyer, not SAR revenue) = 90 SAR
        assert d["customers"] == 7 and d["currency"] == "SAR"
        assert [(t["tier"], t["customers"], D(t["share"]), t["buyers"], D(t["revenue"])) for t in d["tiers"]] == [
            ("gold", 2, D("28.5714"), 2, D(420)),
            ("none", 5, D("71.4286"), 3, D(90)),
        ]


async def test_rfm_grid_counts_customers_per_recency_and_frequency_cell(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, h.events())
        g = await get(svc, "/v1/rfm/grid")
        # Recency ranks (last purchase, most recent first): C, E, A, D, F, B, G -> R = 1 + floor(5 x worse / 7):
        # C 5, E 4, A 3, D 3, F 2, B 1, G 1. Purchases: A 3, C 2, E 2, others 1 -> F: 3 purchases 5, 2 purchases 3, 1 purchase 1.
        # (R, F): A (3, 5) Loyal, C (5, 3) Loyal, E (4, 3) Loyal, D (3, 1) Potential loyalists, F (2, 1) Hibernating, B and G (1, 1) Lost
        cells = {(x["r"], x["f"]): x for x in g["cells"]}
        assert len(g["cells"]) == 25 and g["customers"] == 7
        assert {k: v["customers"] for k, v in cells.items() if v["customers"]} == {(3, 5): 1, (5, 3): 1, (4, 3): 1, (3, 1): 1, (2, 1): 1, (1, 1): 2}
        assert cells[(1, 1)]["segment"] == "Lost" and D(cells[(1, 1)]["mean_monetary"]) == D(60)  # B 50, G 70
        assert D(cells[(3, 5)]["mean_monetary"]) == D(400)  # A 100 + 200 + 100 (RFM monetary ignores refunds)
        assert g["segments"]["Loyal"] == 3 and g["segments"]["Lost"] == 2 and g["segments"]["Potential loyalists"] == 1 and g["segments"]["Champions"] == 0
        assert g["segments"] == {k: v for k, v in g["segments"].items()} and sum(g["segments"].values()) == 7
        gold = await get(svc, "/v1/rfm/grid", tier="gold")
        # scores stay those of all customers; only A and C are counted
        assert gold["customers"] == 2 and {(x["r"], x["f"]) for x in gold["cells"] if x["customers"]} == {(3, 5), (5, 3)}


def _touch(kind: str, n: int, who: uuid.UUID, when: datetime, channel: str, **extra: Any) -> tuple[Any, uuid.UUID]:
    model = {"scheduled": to.TouchScheduled, "sent": to.TouchSent, "completed": to.TouchCompleted}[kind]
    field = {"scheduled": "due_at", "sent": "sent_at", "completed": "completed_at"}[kind]
    return model(touch_id=_u("t", n), customer_id=who, channel=channel, **{field: when}, **extra), who


def _task(n: int, who: uuid.UUID, due: datetime, channel: str, assignee: str) -> tuple[Any, uuid.UUID]:
    return to.TaskAssigned(touch_id=_u("t", n), customer_id=who, channel=channel, task_id=_u("k", n), assignee=assignee, due_at=due), who


def outlook_history() -> list[tuple[Any, uuid.UUID]]:
    """Now is 2026-07-01 09:00 UTC; Y is gold."""
    t = lambda day, hour=12: at(day, hour)  # noqa: E731
    return [
        (c.CustomerRegistered(customer_id=X, registered_at=t("2026-01-01")), X),
        (c.CustomerRegistered(customer_id=Y, registered_at=t("2026-01-01")), Y),
        (lo.TierChanged(customer_id=Y, from_tier=None, to_tier="gold", reason="spend", occurred_at=t("2026-05-01")), Y),
        _touch("scheduled", 1, X, t("2026-07-01", 15), "email"),  # today
        _touch("scheduled", 2, Y, t("2026-07-03", 10), "email"),
        _touch("scheduled", 3, X, t("2026-07-03", 11), "sms"),
        _touch("scheduled", 4, X, t("2026-07-09"), "sms"),  # after now + 7 days
        _touch("scheduled", 5, X, t("2026-07-02"), "email"),
        _touch("sent", 5, X, t("2026-07-01", 8), "email"),  # already sent
        _touch("scheduled", 6, X, t("2026-06-30"), "email"),  # in the past
        _touch("scheduled", 7, X, t("2026-06-20"), "phone"),
        _task(7, X, t("2026-06-25", 9), "phone", "huda"),  # overdue 6 days
        _touch("scheduled", 8, X, t("2026-06-27"), "phone"),
        _task(8, X, t("2026-06-28"), "phone", "omar"),
        _touch("completed", 8, X, t("2026-06-29"), "phone", outcome="reached"),  # done
        _touch("scheduled", 9, X, t("2026-06-29"), "letter"),
        _task(9, X, t("2026-07-02"), "letter", "huda"),  # not due yet
        _touch("scheduled", 10, Y, t("2026-06-29"), "card"),
        _task(10, Y, t("2026-06-30", 9), "card", "omar"),  # overdue exactly 1 day
    ]


async def test_upcoming_touches_per_day_and_channel_within_the_look_ahead_window(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, envelopes(outlook_history()))
        u = await get(svc, "/v1/touches/upcoming")
        # [1 Jul 09:00, 8 Jul 09:00): touches 1 (email 1 Jul), 2 (email 3 Jul), 3 (sms 3 Jul)
        assert u["days"] == [f"2026-07-0{d}" for d in range(1, 9)] and u["channels"] == ["email", "sms"] and u["total"] == 3
        assert {s["channel"]: s["touches"] for s in u["series"]} == {"email": [1, 0, 1, 0, 0, 0, 0, 0], "sms": [0, 0, 1, 0, 0, 0, 0, 0]}
        gold = await get(svc, "/v1/touches/upcoming", tier="gold", days=3)
        assert gold["total"] == 1 and gold["days"] == ["2026-07-01", "2026-07-02", "2026-07-03", "2026-07-04"]
        assert gold["series"] == [{"channel": "email", "touches": [0, 0, 1, 0]}]


async def test_overdue_tasks_are_open_tasks_past_their_due_time(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, envelopes(outlook_history()))
        o = await get(svc, "/v1/tasks/overdue")
        # task 7 (phone, huda, due 25 Jun 09:00: 6 days) and task 10 (card, omar, due 30 Jun 09:00: 1 day);
        # task 8 is completed, task 9 is not due yet
        assert o["total"] == 2 and o["by_channel"] == {"card": 1, "phone": 1} and o["by_assignee"] == {"huda": 1, "omar": 1}
        assert [(i["task_id"], i["assignee"], i["days_overdue"]) for i in o["items"]] == [(str(_u("k", 7)), "huda", 6), (str(_u("k", 10)), "omar", 1)]
        assert o["oldest_due_at"].startswith("2026-06-25T09:00")
        gold = await get(svc, "/v1/tasks/overdue", tier="gold", limit=0)
        assert gold["total"] == 1 and gold["by_channel"] == {"card": 1} and gold["items"] == []


async def caught_up(svc: Any) -> bool:
    """The read model's group committed every message on its topics (lag read from the broker)."""
    o = (await svc.client.get("/v1/ops/summary", headers=svc.auth("ops:read"))).json()
    return bool(o["consumers"][0]["lag"] == 0)


def points_history() -> list[tuple[Any, uuid.UUID]]:
    bonus = {"referral_id": _u("ref"), "advocate_id": Y, "referee_id": X, "points": D(40)}
    return [
        (lo.TierChanged(customer_id=Y, from_tier=None, to_tier="gold", reason="spend", occurred_at=at("2025-12-01")), Y),
        (lo.PointsEarned(customer_id=Y, points=D(200), occurred_at=at("2025-12-15")), Y),
        (lo.PointsEarned(customer_id=X, points=D(100), occurred_at=at("2026-01-10")), X),
        (lo.PointsEarned(customer_id=X, points=D(50), pending=True, occurred_at=at("2026-02-05")), X),
        (lo.PointsRedeemed(customer_id=X, points=D(30), occurred_at=at("2026-02-20")), X),
        (lo.ReferralBonusHeld(**bonus, purchase_id=_u("p"), release_at=at("2026-04-01"), occurred_at=at("2026-03-01")), Y),
        (lo.ReferralBonusRevoked(**bonus, reason="refunded", occurred_at=at("2026-03-05")), Y),
        (lo.PointsExpired(customer_id=X, points=D(20), occurred_at=at("2026-03-31", 23)), X),
        (lo.PointsEarned(customer_id=X, points=D(999), occurred_at=at("2026-04-01", 0)), X),  # after Q1
    ]


async def test_points_liability_is_outstanding_points_times_point_cost_month_by_month(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        events = envelopes(points_history())
        await load(svc, events)
        await send(svc, events)  # the same events again change nothing
        await eventually(lambda: caught_up(svc), timeout_s=20)
        p = await get(svc, "/v1/points/liability", **Q1)
        # opening (before Q1): Y 200. Jan +100 -> 300; Feb +50 (pending counts) -30 -> 320; Mar +40 -40 -20 -> 300.
        # point cost 0.01 SAR: opening 2.00, closing 3.00
        assert D(p["point_value"]) == D("0.01") and p["currency"] == "SAR"
        assert (D(p["opening_points"]), D(p["outstanding_points"]), D(p["opening_liability"]), D(p["liability"])) == (D(200), D(300), D(2), D(3))
        assert {k: D(v) for k, v in p["movements"].items()} == {"earned": D(150), "held": D(40), "revoked": D(40), "redeemed": D(30), "expired": D(20)}
        assert [(m["month"], D(m["added"]), D(m["taken"]), D(m["outstanding_points"]), D(m["liability"])) for m in p["months"]] == [
            ("2026-01", D(100), D(0), D(300), D(3)),
            ("2026-02", D(50), D(30), D(320), D("3.2")),
            ("2026-03", D(40), D(60), D(300), D(3)),
        ]
        gold = await get(svc, "/v1/points/liability", tier="gold", **Q1)
        assert (D(gold["opening_points"]), D(gold["outstanding_points"])) == (D(200), D(200))  # Y: bonus held then revoked


PLATFORM_ROWS = [
    "INSERT INTO outbox (event_id, topic, shard, type, payload) SELECT gen_random_uuid(), 'wafa.analytics', s, 't', '{}' FROM generate_series(0, 1) s",
    "INSERT INTO dead_letters (consumer, topic, partition, \"offset\", payload, error, attempts) VALUES ('analytics.read-model', 't', 0, 1, 'x', 'boom', 5)",
    "INSERT INTO webhook_subscriptions (id, url, event_types, secret) VALUES ('00000000-0000-0000-0000-000000000001', 'http://x', '{*}', 's')",
    "INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, payload, status, attempts) "
    "SELECT '00000000-0000-0000-0000-000000000001', gen_random_uuid(), 't', '{}', status, attempts "
    "FROM (VALUES ('pending', 0), ('pending', 2), ('dead', 8)) AS x(status, attempts)",
]


async def test_ops_summary_reports_backlog_dead_letters_failing_webhooks_and_lag_from_the_broker(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), consumers_enabled=False, relay_enabled=False, webhooks_enabled=False, **SETTINGS) as svc:
        for event in envelopes(points_history()[:5]):  # 5 messages nobody consumed yet
            await send(svc, [event])  # one batch each: Tansu 0.6 reports a partition's end as its last batch's base offset + 1
        async with svc.runtime.sessions() as s, s.begin():
            for sql in PLATFORM_ROWS:
                await s.execute(text(sql))
        r = await svc.client.get("/v1/ops/summary", headers=svc.auth("ops:read"))
        assert r.status_code == 200, r.text
        o = r.json()
        # 2 unpublished outbox rows; 1 dead letter; deliveries: 1 fresh (not a failure), 1 retrying, 1 dead
        assert (o["service"], o["outbox_backlog"], o["dead_letters"], o["webhooks_retrying"], o["webhooks_dead"]) == ("analytics", 2, 1, 1, 1)
        prefix = svc.settings.topic_prefix
        assert o["consumers"] == [{"consumer": "analytics.read-model", "group_id": f"{prefix}analytics.read-model", "lag": 5, "error": None}]
        assert (await svc.client.get("/v1/ops/summary", headers=svc.auth("analytics:read"))).status_code == 403


async def test_consumer_lag_falls_to_zero_once_the_read_model_caught_up(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, envelopes(points_history()))
        await eventually(lambda: caught_up(svc), timeout_s=20)


async def test_platform_health_lists_every_service_and_reports_unreachable_peers(wafa_service: Any) -> None:
    dead = {name: "http://127.0.0.1:9" for name in ("customer", "loyalty", "survey", "touch-scheduler")}  # discard port: refused
    async with wafa_service("analytics", clock=ManualClock(NOW), service_urls=dead, platform_health_timeout_s=2.0, **SETTINGS) as svc:
        r = await svc.client.get("/v1/platform/health", headers=svc.auth("ops:read"))
        assert r.status_code == 200, r.text
        hp = r.json()
        by = {s["service"]: s for s in hp["services"]}
        assert list(by) == ["customer", "loyalty", "survey", "analytics", "touch-scheduler"]
        assert by["analytics"]["reachable"] and by["analytics"]["outbox_backlog"] == 0 and by["analytics"]["consumers"][0]["consumer"] == "analytics.read-model"
        assert all(not by[n]["reachable"] and by[n]["error"] and by[n]["url"] == "http://127.0.0.1:9" for n in dead)
        assert hp["totals"]["unreachable"] == 4 and hp["totals"]["dead_letters"] == 0
        assert datetime.fromisoformat(hp["checked_at"]) == NOW.astimezone(UTC)
        assert (await svc.client.get("/v1/platform/health", headers=svc.auth("analytics:read"))).status_code == 403


async def test_dashboard_page_and_assets_are_served_without_a_token_and_outside_the_api_schema(wafa_service: Any) -> None:
    async with wafa_service("analytics", consumers_enabled=False, relay_enabled=False, webhooks_enabled=False) as svc:
        page = await svc.client.get("/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"] and page.headers["referrer-policy"] == "no-referrer"
        js = await svc.client.get("/dashboard/vendor/echarts/echarts.min.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript") and len(js.content) > 1_000_000
        assert "Apache License" in (await svc.client.get("/dashboard/vendor/echarts/LICENSE")).text
        assert (await svc.client.get("/dashboard/../app.py")).status_code == 404
        assert (await svc.client.get("/dashboard/%2e%2e/app.py")).status_code == 404
        assert (await svc.client.get("/dashboard/nothing.js")).status_code == 404
        slash = await svc.client.get("/dashboard/")
        assert slash.status_code == 308 and slash.headers["location"] == "../dashboard"  # relative: works under a path prefix
        spec = (await svc.client.get("/openapi.json")).json()
        assert not any(p.startswith("/dashboard") for p in spec["paths"])


async def test_a_goal_can_target_the_points_liability_where_lower_is_better(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, envelopes(points_history()))
        body = {"name": "Liability down", "kpi": "points_liability", "period_from": "2026-01-01", "period_to": "2026-03-31", "target": "1.5"}
        r = await svc.client.post("/v1/goals", json=body, headers=svc.auth("analytics:write"))
        assert r.status_code == 201, r.text
        g = r.json()["progress"]
        # baseline: the 90 days before Q1 end with Y's 200 points -> 2.00 SAR; Q1 ends with 300 points -> 3.00;
        # progress (3 - 2) / (1.5 - 2) = -200 %: moving away from the target; not met (3.00 > 1.50)
        assert (D(g["baseline"]), D(g["current"]), D(g["target_value"]), D(g["progress_pct"]), g["achieved"]) == (D(2), D(3), D("1.5"), D(-200), False)
        relative = {**body, "mode": "relative", "target": "-10", "segment": "gold"}
        g = (await svc.client.post("/v1/goals", json=relative, headers=svc.auth("analytics:write"))).json()["progress"]
        # gold (Y): 200 points before and after Q1 (bonus held then revoked) -> 2.00 both; target 2.00 x 0.9 = 1.80
        assert (D(g["baseline"]), D(g["current"]), D(g["target_value"]), D(g["progress_pct"]), g["achieved"]) == (D(2), D(2), D("1.8"), D(0), False)


async def test_an_rfm_segment_filter_narrows_kpis_trend_and_outlook_to_its_customers(wafa_service: Any) -> None:
    async with wafa_service("analytics", clock=ManualClock(NOW), **SETTINGS) as svc:
        await load(svc, [*h.events(), *envelopes(outlook_history())])
        # scored at the end of Q1 (1 Apr): the same ranks as at NOW, so Loyal = A, C, E
        k = await get(svc, "/v1/kpis", rfm_segment="Loyal", **Q1)
        # Q1 orders: A 2, C 1, E 1; NPS: A 10, C 8, E 9 -> 2 promoters of 3; CSI: A 3.5, E 5
        assert k["rfm_segment"] == "Loyal" and k["kpis"]["orders"] == 4
        assert (D(k["kpis"]["nps"]), D(k["kpis"]["csi"])) == (D("66.6667"), D("4.25"))
        t = await get(svc, "/v1/satisfaction/trend", rfm_segment="Loyal", **Q1)
        assert [(p["start"], D(p["nps"])) for p in t["points"]] == [("2026-02-01", D(100)), ("2026-03-01", D(50))]
        # X and Y of the outlook never bought: no RFM segment holds them
        assert (await get(svc, "/v1/touches/upcoming"))["total"] == 3
        assert (await get(svc, "/v1/touches/upcoming", rfm_segment="Loyal"))["total"] == 0
        assert (await get(svc, "/v1/tasks/overdue", rfm_segment="Loyal"))["total"] == 0
        assert (await get(svc, "/v1/points/liability", rfm_segment="Loyal", **Q1))["outstanding_points"] == "0.0000"
        r = await svc.client.get("/v1/kpis", params={"rfm_segment": "Whales", **Q1}, headers=svc.auth("analytics:read"))
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
