"""HTTP routers of the analytics service, one module per resource."""

from fastapi import APIRouter

from wafa_analytics.api import clv, cohorts, dashboard, goals, kpis, plans, platform, points, profitability, read_model, rfm, satisfaction, tiers, touches

ROUTERS: list[APIRouter] = [
    kpis.router,
    satisfaction.router,
    tiers.router,
    points.router,
    cohorts.router,
    rfm.router,
    clv.router,
    profitability.router,
    plans.router,
    goals.router,
    touches.router,
    platform.router,
    read_model.router,
    dashboard.router,
]
