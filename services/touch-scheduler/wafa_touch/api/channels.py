"""Channel partner endpoints and inbound delivery receipts."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from wafa_shared.auth import require
from wafa_shared.deps import RuntimeDep, SessionDep
from wafa_shared.problems import ProblemError
from wafa_shared.webhooks import inbound, signing
from wafa_touch import repository as repo
from wafa_touch import service
from wafa_touch.schemas import ChannelIn, ChannelOut, ReceiptIn, ReceiptOut

router = APIRouter(prefix="/v1", tags=["channels"])
MessageChannel = Literal["email", "sms", "push", "gift", "survey_invite"]


@router.get("/channels", response_model=list[ChannelOut], dependencies=[require("admin")], summary="Channel partner endpoints (with secrets: admin only)")
async def list_channels(session: SessionDep) -> Any:
    return [ChannelOut(channel=e.channel, url=e.url, secret=e.secret) for e in (await repo.endpoints(session)).values()]


@router.put("/channels/{channel}", response_model=ChannelOut, dependencies=[require("admin")], summary="Set a channel's partner endpoint and signing secret")
async def put_channel(channel: MessageChannel, body: ChannelIn, session: SessionDep) -> ChannelOut:
    return await service.put_channel(session, channel, body)


@router.post(
    "/inbound/delivery-receipts",
    response_model=ReceiptOut,
    tags=["inbound"],
    summary="Delivery receipt from a channel partner (Standard Webhooks, signed with the channel secret)",
)
async def delivery_receipt(request: Request, session: SessionDep, runtime: RuntimeDep) -> Any:
    raw = await request.body()
    msg_id = signing.verify(await service.receipt_secrets(session), request.headers, raw, tolerance_s=runtime.settings.webhook_tolerance_s)
    first, stored = await inbound.claim(session, "channel-partner", msg_id)
    if not first:
        return stored
    try:
        body = ReceiptIn.model_validate_json(raw)
    except ValueError as exc:
        raise ProblemError(422, "invalid-receipt", str(exc)[:500]) from None
    out = await service.apply_receipt(session, body, msg_id, runtime.clock.now())
    await inbound.remember(session, "channel-partner", msg_id, out)
    return out
