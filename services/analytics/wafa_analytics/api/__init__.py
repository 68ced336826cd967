"""HTTP routers of the analytics service, one module per resource."""

from fastapi import APIRouter

from wafa_analytics.api import clv, cohorts, goals, kpis, plans, profitability, read_model, rfm

ROUTERS: list[APIRouter] = [kpis.router, cohorts.router, rfm.router, clv.router, profitability.router, plans.router, goals.router, read_model.router]
