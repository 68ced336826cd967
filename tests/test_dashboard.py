"""The loyalty manager's dashboard (#10) in a real browser: a platform seeded with the demo business,
the page opened in headless Chromium (Debian's `chromium`, driven by Playwright), every chart drawn
with data from the public analytics API, filters applied, Arabic right-to-left, and screenshots
saved under `test-artifacts/dashboard/`."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from wafa_shared.demo import DemoSummary, seed_demo
from wafa_shared.embedded.broker import free_port
from wafa_shared.services import SERVICES
from wafa_shared.testing.events import eventually
from wafa_shared.testing.platform import RunningPlatform, launch_platform

pytestmark = pytest.mark.slow

CUSTOMERS = 300  # the demo's 18 months, with fewer customers than `make run` loads, to keep the test short
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = {"trend", "cohorts", "whale", "rfm", "tiers", "plans", "liability", "touches", "tasks", "health"}

# For every chart: is an ECharts instance drawn, how many points each series holds, and whether
# the card shows its empty or error state. (page.evaluate runs over the DevTools protocol, so the
# page's strict CSP - no eval - stays on.)
VIEWS_JS = """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map((el) => {
  const chart = echarts.getInstanceByDom(el);
  const card = el.closest('.card');
  const option = chart ? chart.getOption() : null;
  return [el.dataset.chart, {
    drawn: !!option,
    points: option ? option.series.map((s) => (s.data || []).filter((d) => d !== null && d !== undefined).length) : [],
    empty: !card.querySelector('.empty').hidden,
    error: card.querySelector('.error').hidden ? null : card.querySelector('.error').textContent,
  }];
}))"""
KPIS_JS = """() => Object.fromEntries([...document.querySelectorAll('.kpi')].map((k) =>
  [k.dataset.kpi, {label: k.querySelector('h3').textContent, value: k.querySelector('.value').textContent, goal: k.querySelector('.goal').textContent}]))"""
RFM_JS = """() => {
  const data = echarts.getInstanceByDom(document.querySelector('[data-chart=rfm]')).getOption().series[0].data;
  return data.map((d) => ({customers: d.value[2], segment: d.cell.segment, dimmed: !!(d.itemStyle && d.itemStyle.opacity < 1)}));
}"""


@pytest.fixture(scope="module")
def seeded(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningPlatform, DemoSummary]]:
    """A platform with the demo business loaded and fully consumed by analytics. Ports are chosen
    here so analytics can be told its peers' URLs (`WAFA_SERVICE_URLS`) for platform health."""
    ports = {s.name: free_port() for s in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {f"{s.env_prefix}PORT": str(ports[s.name]) for s in SERVICES} | {"WAFA_SERVICE_URLS": json.dumps(urls)}
    with launch_platform(infra, Path(tmp_path_factory.mktemp("dashboard")), "dash", env) as running:
        summary = asyncio.run(seed_demo(urls, running.token, customers=CUSTOMERS))
        asyncio.run(wait_until_analytics_caught_up(running, summary))
        yield running, summary


async def wait_until_analytics_caught_up(running: RunningPlatform, summary: DemoSummary) -> None:
    async with running.client("analytics") as analytics, running.client("touch-scheduler") as touch:
        # announce the touches of the coming week now rather than at the job's next minute
        assert (await touch.post("/v1/ops/jobs/announce-due-touches/run")).status_code == 200
        assert summary.first_purchase_at is not None
        period = {"from": (summary.first_purchase_at - timedelta(days=1)).date().isoformat(), "to": (datetime.now(UTC) + timedelta(days=1)).date().isoformat()}

        async def caught_up() -> bool:
            kpis = (await analytics.get("/v1/kpis", params=period)).json()["kpis"]
            health = (await analytics.get("/v1/platform/health")).json()["totals"]
            upcoming = (await analytics.get("/v1/touches/upcoming")).json()["total"]
            return Decimal(str(kpis["revenue"])) == summary.revenue and health["consumer_lag"] == 0 and health["outbox_backlog"] == 0 and upcoming > 0

        await eventually(caught_up, timeout_s=300, interval_s=0.5)


def open_dashboard(page: Page, running: RunningPlatform) -> None:
    page.goto(f"{running.urls['analytics']}/dashboard#token={running.token}")
    wait_for_load(page, 1)


def wait_for_load(page: Page, n: int) -> None:
    """Until the page's n-th load has finished, then every view must have loaded."""
    page.wait_for_selector(f"body[data-loads='{n}']", state="attached", timeout=90_000)
    state, status = page.get_attribute("body", "data-state"), page.text_content("#status")
    assert state == "ready", f"load {n}: {state}: {status}"


def percent(value: str | None) -> str:
    """A KPI percentage as the page shows it in English (Intl: at most one decimal)."""
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(Decimal('0.1'), ROUND_HALF_UP)}%".replace(".0%", "%")


def assert_every_chart_has_data(page: Page) -> None:
    views = page.evaluate(VIEWS_JS)
    assert set(views) == CHARTS
    for name, view in views.items():
        assert view["error"] is None, f"{name}: {view['error']}"
        assert not view["empty"], f"{name} shows its empty state"
        assert view["drawn"] and view["points"] and all(n > 0 for n in view["points"]), f"{name} has no data: {view}"


def test_the_dashboard_draws_every_view_from_the_api_in_english_and_arabic(seeded: tuple[RunningPlatform, DemoSummary]) -> None:
    running, _ = seeded
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-GB")
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)

            # a goal on the points liability for this quarter (the demo sets goals on NPS, retention...)
            today = datetime.now(UTC).date()
            first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
            last = (first.replace(day=28) + timedelta(days=70)).replace(day=1) - timedelta(days=1)
            goal = {"name": "Liability under 1,000", "kpi": "points_liability", "period_from": str(first), "period_to": str(last), "target": "1000"}
            r = httpx.post(f"{running.urls['analytics']}/v1/goals", json=goal, headers={"Authorization": f"Bearer {running.token}"})
            assert r.status_code == 201, r.text

            open_dashboard(page, running)
            # the token left the address bar for sessionStorage; it never went to the server in a URL
            assert page.evaluate("() => location.hash") == ""
            assert page.evaluate("() => sessionStorage.getItem('wafa.dashboard.token')") == running.token
            assert_every_chart_has_data(page)

            # KPI cards show the API's numbers for the page's period, formatted for the locale
            period = page.evaluate("() => ({from: document.getElementById('f-from').value, to: document.getElementById('f-to').value})")
            api = httpx.get(f"{running.urls['analytics']}/v1/kpis", params=period, headers={"Authorization": f"Bearer {running.token}"}).json()["kpis"]
            cards = page.evaluate(KPIS_JS)
            assert set(cards) == {"retention_rate", "churn_rate", "nps", "csi", "referral_rate", "points_liability"}
            assert cards["retention_rate"]["value"] == percent(api["retention_rate"])
            assert cards["points_liability"]["value"].startswith("SAR") and "points outstanding" in cards["points_liability"]["goal"]
            assert "Goal: SAR\xa01,000" in cards["points_liability"]["goal"]  # Intl puts a no-break space after the code
            assert "Goal:" in cards["nps"]["goal"]  # the demo sets an NPS goal for this quarter
            page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)

            # tier filter: the RFM grid counts only that tier's customers (as the API does)
            tier = page.evaluate("() => [...document.getElementById('f-tier').options].map((o) => o.value).filter(Boolean)")[0]
            page.select_option("#f-tier", tier)
            wait_for_load(page, 2)
            grid = httpx.get(f"{running.urls['analytics']}/v1/rfm/grid", params={"tier": tier}, headers={"Authorization": f"Bearer {running.token}"}).json()
            assert sum(c["customers"] for c in page.evaluate(RFM_JS)) == grid["customers"] > 0
            # RFM segment filter: the grid dims the cells of other segments; the KPIs are the segment's
            page.select_option("#f-segment", "Champions")
            wait_for_load(page, 3)
            cells = page.evaluate(RFM_JS)
            assert all(c["dimmed"] == (c["segment"] != "Champions") for c in cells)
            champions = httpx.get(
                f"{running.urls['analytics']}/v1/kpis",
                params={**period, "segment": tier, "rfm_segment": "Champions"},
                headers={"Authorization": f"Bearer {running.token}"},
            ).json()["kpis"]
            shown = page.evaluate(KPIS_JS)["churn_rate"]["value"]
            assert shown == percent(champions["churn_rate"])
            page.select_option("#f-tier", "")
            wait_for_load(page, 4)
            page.select_option("#f-segment", "")
            wait_for_load(page, 5)

            # Arabic: right to left, Arabic labels, Arabic-Indic digits, every chart still drawn
            page.click("#lang")
            page.wait_for_selector("html[dir=rtl][lang=ar]", state="attached")
            assert page.text_content("h1 [data-i18n=title]") == "لوحة متابعة برنامج الولاء"
            cards = page.evaluate(KPIS_JS)
            assert cards["retention_rate"]["label"] == "معدل الاحتفاظ بالعملاء (CRR)"
            assert cards["csi"]["label"] == "مؤشر رضا العملاء (CSI)"
            assert re.search("[\u0660-\u0669]", cards["retention_rate"]["value"]) and not re.search("[0-9]", cards["retention_rate"]["value"])
            assert page.text_content("[data-i18n='chart.whale']") == "منحنى الحوت (الربح التراكمي)"
            assert_every_chart_has_data(page)
            page.screenshot(path=str(ARTIFACTS / "dashboard-ar.png"), full_page=True)

            # the language and the token survive a reload (localStorage, sessionStorage)
            page.reload()
            wait_for_load(page, 1)
            assert page.get_attribute("html", "dir") == "rtl"
            assert_every_chart_has_data(page)
            assert problems == []
        finally:
            browser.close()


def test_the_dashboard_asks_for_a_token_and_accepts_a_pasted_one(seeded: tuple[RunningPlatform, DemoSummary]) -> None:
    running, _ = seeded
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="en-GB")
            page.goto(f"{running.urls['analytics']}/dashboard")
            page.wait_for_selector("body[data-state=signed-out]", state="attached")
            assert page.is_visible("#token-panel") and not page.is_visible("#board")
            page.fill("#token-input", "not-a-token")
            page.click("#token-panel button[type=submit]")
            page.wait_for_selector("body[data-state=signed-out] #token-panel:not([hidden])", state="attached")  # 401: asked again
            page.fill("#token-input", running.token)
            page.click("#token-panel button[type=submit]")
            wait_for_load(page, 1)
            assert_every_chart_has_data(page)
        finally:
            browser.close()
