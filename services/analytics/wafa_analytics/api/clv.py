"""CLV: queue a fit (`POST /v1/clv/fits`), follow it, read the model and per-customer values."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter

from wafa_analytics import clv_fits
from wafa_analytics.models import ClvFit
from wafa_analytics.schemas import ClvCustomerOut, ClvFitIn, ClvFitOut
from wafa_shared.auth import Principal, require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_shared.idempotency import IdempotencyKeyHeader, idempotent
from wafa_shared.problems import ProblemError, not_found

router = APIRouter(prefix="/v1/clv", tags=["clv"])


@router.post(
    "/fits",
    status_code=202,
    response_model=ClvFitOut,
    summary="Queue a BG/NBD + Gamma-Gamma fit",
    description="The `clv-fit` job runs queued fits in the background; follow `GET /v1/clv/fits/{id}` (status, progress).",
)
async def post_fit(
    body: ClvFitIn, session: SessionDep, runtime: RuntimeDep, caller: Annotated[Principal, require("analytics:write")], key: IdempotencyKeyHeader = None
) -> Any:
    async def create() -> tuple[int, Any]:
        fit = await clv_fits.request_fit(
            session, as_of=body.as_of, horizon_months=body.horizon_months, annual_discount_rate=body.annual_discount_rate, currency=runtime.settings.currency
        )
        return 202, ClvFitOut.model_validate(fit)

    return await idempotent(session, scope=f"clv-fits:{caller.subject}", key=key, body=body, create=create)


@router.get("/fits/{fit_id}", response_model=ClvFitOut, dependencies=[require("analytics:read")], summary="A fit's status, progress and results")
async def get_fit(fit_id: uuid.UUID, session: SessionDep) -> Any:
    fit = await session.get(ClvFit, fit_id)
    if fit is None:
        raise not_found("CLV fit", fit_id)
    return fit


@router.get("/model", response_model=ClvFitOut, dependencies=[require("analytics:read")], summary="The latest completed fit")
async def get_model(session: SessionDep) -> Any:
    fit = await clv_fits.latest_fit(session)
    if fit is None:
        raise ProblemError(404, "no-clv-model", "No CLV fit has completed yet; POST /v1/clv/fits first.")
    return fit


@router.get("/customers/{customer_id}", response_model=ClvCustomerOut, dependencies=[require("analytics:read")], summary="A customer's CLV from the latest fit")
async def get_customer(customer_id: uuid.UUID, session: SessionDep) -> Any:
    fit = await clv_fits.latest_fit(session)
    if fit is None:
        raise ProblemError(404, "no-clv-model", "No CLV fit has completed yet; POST /v1/clv/fits first.")
    row = await clv_fits.customer_result(session, fit.id, customer_id)
    if row is None:
        raise not_found("Customer in the latest CLV fit", customer_id)
    return row
