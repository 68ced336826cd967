"""`POST /v1/inbound/purchases`: purchases pushed by POS / e-commerce partners.

Standard Webhooks: the signature is verified against the configured partner secrets, stale
timestamps are rejected, and a message id seen before returns its first response (replays
change nothing). The order id makes the purchase itself idempotent as well.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from wafa_loyalty import purchases
from wafa_loyalty.api.purchases import program_cache
from wafa_loyalty.schemas import PurchaseIn, PurchaseOut
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_shared.problems import ProblemError
from wafa_shared.webhooks import inbound, signing

router = APIRouter(prefix="/v1/inbound", tags=["inbound"])
SOURCE = "partner-purchases"


@router.post(
    "/purchases", response_model=PurchaseOut, openapi_extra={"requestBody": {"content": {"application/json": {"schema": PurchaseIn.model_json_schema()}}}}
)
async def inbound_purchase(request: Request, session: SessionDep, runtime: RuntimeDep) -> Any:
    """A partner's purchase (body as `POST /v1/purchases`), signed with the partner's secret."""
    raw = await request.body()
    secrets = runtime.settings.partner_secrets
    if not secrets:
        raise ProblemError(401, "webhook-signature-invalid", "No partner secrets are configured.")
    msg_id = signing.verify(secrets, request.headers, raw, tolerance_s=runtime.settings.webhook_tolerance_s)
    try:
        body = PurchaseIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "in": "body", "message": e["msg"]} for e in exc.errors()]
        raise ProblemError(422, "validation-error", "Invalid purchase", errors=errors) from None
    first, stored = await inbound.claim(session, SOURCE, msg_id)
    if not first:
        return stored
    [(_, out, problem)] = await purchases.record_batch(session, [body], runtime.clock.now(), program_cache(runtime))
    if problem is not None:
        raise problem
    assert out is not None
    await inbound.remember(session, SOURCE, msg_id, out)
    return out
