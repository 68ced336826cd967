"""CLV model fits as background work with progress and stored results.

`request_fit` queues a fit for an observation end `as_of`; the `clv-fit` job claims queued
fits (`FOR UPDATE SKIP LOCKED`, so replicas never run one twice), builds each customer's
(x, t_x, T, m) from purchases before `as_of`, fits BG/NBD and Gamma-Gamma in a worker thread,
stores per-customer P(alive), expected purchases, expected spend, CLV and loyalty index, and
publishes `analytics.customer.at_risk` for customers whose P(alive) fell below the threshold.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_analytics import at_risk
from wafa_analytics import repository as repo
from wafa_analytics.domain import bgnbd, clv, gammagamma
from wafa_analytics.models import ClvCustomer, ClvFit
from wafa_shared.lifecycle import Runtime


async def request_fit(session: AsyncSession, *, as_of: datetime, horizon_months: int, annual_discount_rate: Decimal, currency: str) -> ClvFit:
    fit = ClvFit(
        id=uuid.uuid4(),
        status="queued",
        progress=0.0,
        as_of=as_of,
        horizon_months=horizon_months,
        annual_discount_rate=annual_discount_rate,
        currency=currency,
    )
    session.add(fit)
    await session.flush()
    return fit


def compute(rows: list[tuple[Any, int, float, float, float]], months: int, annual: float) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """The fits and per-customer predictions (CPU-bound; runs in a thread)."""
    x = np.array([r[1] for r in rows], dtype=np.float64)
    t_x = np.array([r[2] for r in rows], dtype=np.float64)
    T = np.array([r[3] for r in rows], dtype=np.float64)
    m = np.array([r[4] for r in rows], dtype=np.float64)
    bg = bgnbd.fit(x, t_x, T)
    gg = gammagamma.fit(x, m)
    p_alive = bgnbd.probability_alive(bg.params, x, t_x, T)
    horizon_weeks = months * clv.WEEKS_PER_MONTH
    exp_purchases = bgnbd.expected_purchases(bg.params, horizon_weeks, x, t_x, T)
    spend = gammagamma.expected_spend(gg.params, x, m)
    values = clv.clv(bg.params, gg.params, x, t_x, T, m, months=months, annual_discount=annual)
    params = {
        "bgnbd": {**bg.params.__dict__, "log_likelihood": bg.log_likelihood, "converged": bg.converged},
        "gamma_gamma": {**gg.params.__dict__, "log_likelihood": gg.log_likelihood, "converged": gg.converged},
        "time_unit": "week",
    }
    summary = {
        "customers": len(rows),
        "repeat_customers": int((x > 0).sum()),
        "mean_p_alive": float(p_alive.mean()),
        "expected_purchases": float(exp_purchases.sum()),
        "total_clv": float(values.sum()),
        "mean_clv": float(values.mean()),
    }
    per = {
        "x": x,
        "t_x": t_x,
        "T": T,
        "m": m,
        "p_alive": p_alive,
        "exp": exp_purchases,
        "spend": spend,
        "clv": values,
        "loyalty": clv.loyalty_index(p_alive, x),
    }
    return params, summary, per


_STORE = text("""
INSERT INTO a_clv_customers (fit_id, customer_id, x, t_x, t_obs, monetary, p_alive, expected_purchases, expected_spend, clv, loyalty_index)
SELECT :fit_id, * FROM unnest(CAST(:customer_id AS uuid[]), CAST(:x AS int[]), CAST(:t_x AS float8[]), CAST(:t_obs AS float8[]),
  CAST(:m AS float8[]), CAST(:p AS float8[]), CAST(:e AS float8[]), CAST(:s AS float8[]), CAST(:c AS float8[]), CAST(:l AS float8[]))
""")


async def _set(runtime: Runtime, fit_id: uuid.UUID, **values: Any) -> None:
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(ClvFit).where(ClvFit.id == fit_id).values(**values))


async def run_one(runtime: Runtime, fit_id: uuid.UUID) -> str:
    """Run a claimed fit; any failure marks it `failed` with the error (it is not retried)."""
    try:
        return await _run(runtime, fit_id)
    except Exception as exc:  # noqa: BLE001 - reported on the fit, never left `running`
        await _set(runtime, fit_id, status="failed", error=str(exc)[:2000] or repr(exc), finished_at=runtime.clock.now())
        return "failed"


async def _run(runtime: Runtime, fit_id: uuid.UUID) -> str:
    async with runtime.sessions() as session, session.begin():
        fit_row = (await session.execute(select(ClvFit).where(ClvFit.id == fit_id))).scalar_one()
        rows = await repo.clv_inputs(session, fit_row.as_of, fit_row.currency)
    await _set(runtime, fit_id, progress=0.2)
    params, summary, per = await asyncio.to_thread(compute, rows, fit_row.horizon_months, float(fit_row.annual_discount_rate))
    await _set(runtime, fit_id, progress=0.8)
    settings = runtime.settings
    async with runtime.sessions() as session, session.begin():
        chunk = 50_000
        for i in range(0, len(rows), chunk):
            sl = slice(i, i + chunk)
            await session.execute(
                _STORE,
                {
                    "fit_id": fit_id,
                    "customer_id": [r[0] for r in rows[sl]],
                    "x": [int(v) for v in per["x"][sl]],
                    "t_x": per["t_x"][sl].tolist(),
                    "t_obs": per["T"][sl].tolist(),
                    "m": per["m"][sl].tolist(),
                    "p": per["p_alive"][sl].tolist(),
                    "e": per["exp"][sl].tolist(),
                    "s": per["spend"][sl].tolist(),
                    "c": per["clv"][sl].tolist(),
                    "l": per["loyalty"][sl].tolist(),
                },
            )
        flagged = await at_risk.flag_low_p_alive(session, fit_id, settings.at_risk_p_alive, runtime.clock.now())  # type: ignore[attr-defined]
        summary["at_risk_flagged"] = flagged
        await session.execute(
            update(ClvFit).where(ClvFit.id == fit_id).values(status="done", progress=1.0, params=params, summary=summary, finished_at=runtime.clock.now())
        )
    runtime.outbox_committed()
    return "done"


async def run_queued(runtime: Runtime) -> dict[str, Any]:
    """The `clv-fit` job: run every queued fit, oldest first."""
    results: dict[str, str] = {}
    while True:
        async with runtime.sessions() as session, session.begin():
            fit_id = (
                await session.execute(
                    select(ClvFit.id).where(ClvFit.status == "queued").order_by(ClvFit.created_at, ClvFit.id).limit(1).with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if fit_id is None:
                break
            await session.execute(update(ClvFit).where(ClvFit.id == fit_id).values(status="running", progress=0.05))
        results[str(fit_id)] = await run_one(runtime, fit_id)
    return {"fits": results}


async def latest_fit(session: AsyncSession) -> ClvFit | None:
    return (
        await session.execute(select(ClvFit).where(ClvFit.status == "done").order_by(ClvFit.finished_at.desc(), ClvFit.created_at.desc()).limit(1))
    ).scalar_one_or_none()


async def customer_result(session: AsyncSession, fit_id: uuid.UUID, customer_id: uuid.UUID) -> ClvCustomer | None:
    return await session.get(ClvCustomer, (fit_id, customer_id))
