"""First purchases consumed in bulk (an import of historical purchases) are enrolled as one
set-based batch: each customer once, anchored and recorded at their own purchase time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from wafa_shared.clock import ManualClock
from wafa_shared.events import new_event
from wafa_shared.events.loyalty import PurchaseRecorded
from wafa_shared.testing.events import eventually
from wafa_touch.domain.holdout import in_holdout
from wafa_touch.models import Enrolment, Touch

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
N = 300


def first(cid: uuid.UUID, k: int) -> PurchaseRecorded:
    at = T0 + timedelta(hours=k)
    amount = Decimal("50.00")
    return PurchaseRecorded(purchase_id=uuid.uuid4(), customer_id=cid, order_id=f"o-{k}", amount=amount, currency="SAR", occurred_at=at, first_purchase=True)


async def test_a_burst_of_first_purchases_enrols_each_customer_once_at_its_own_time(wafa_service: Any) -> None:
    async with wafa_service("touch-scheduler", clock=ManualClock(T0)) as svc:
        cids = [uuid.uuid4() for _ in range(N)]
        producer = AIOKafkaProducer(bootstrap_servers=svc.bootstrap)
        await producer.start()
        try:
            sends = [first(cid, k) for k, cid in enumerate(cids)]
            sends.append(first(cids[0], N))  # a second "first" purchase of one customer changes nothing
            sends.append(PurchaseRecorded(**{**first(cids[1], N + 1).model_dump(), "first_purchase": False}))
            for data in sends:
                event = new_event(data, source="loyalty", subject=data.customer_id)
                await producer.send(svc.topic(data.topic), event.to_json(), key=str(data.customer_id).encode())
            await producer.flush()
        finally:
            await producer.stop()

        async def enrolled() -> list[Enrolment] | None:
            async with svc.runtime.sessions() as s:
                rows = list((await s.scalars(select(Enrolment).where(Enrolment.customer_id.in_(cids)))).all())
            return rows if len(rows) >= N else None

        rows: list[Enrolment] = await eventually(enrolled, timeout_s=60)  # type: ignore[assignment]
        assert len(rows) == N and len({r.customer_id for r in rows}) == N
        when = {cid: T0 + timedelta(hours=k) for k, cid in enumerate(cids)}
        assert all(r.anchor_at == r.enrolled_at == when[r.customer_id] for r in rows)
        treated = [r for r in rows if not in_holdout("client-for-life", r.customer_id, Decimal("10"))]
        assert {r.customer_id for r in rows if not r.holdout} == {r.customer_id for r in treated}
        async with svc.runtime.sessions() as s:
            per = dict((await s.execute(select(Touch.enrolment_id, func.count()).where(Touch.customer_id.in_(cids)).group_by(Touch.enrolment_id))).all())
        assert per == {r.id: 33 for r in treated}
