"""Standard Webhooks: our signatures verify with the reference package; our verifier rejects
tampering, wrong secrets, stale timestamps; deliveries retry, log every attempt, die, and can
be redelivered; inbound partner messages are idempotent on their id."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import standardwebhooks
from helpers import rows, scalar

from wafa_shared.problems import ProblemError
from wafa_shared.testing.events import eventually
from wafa_shared.testing.webhook_sink import webhook_sink
from wafa_shared.webhooks import signing
from wafa_shared.webhooks.worker import next_attempt

SECRET = signing.new_secret()


def test_our_signature_verifies_with_the_standardwebhooks_package() -> None:
    body = b'{"type":"loyalty.tier.changed"}'
    headers = signing.signed_headers(SECRET, "msg_1", body)
    payload = standardwebhooks.Webhook(SECRET).verify(body, headers)
    assert payload == {"type": "loyalty.tier.changed"}


def test_standardwebhooks_signatures_verify_with_ours_and_tampering_is_rejected() -> None:
    wh = standardwebhooks.Webhook(SECRET)
    body = '{"order_id":"A-1"}'
    now = datetime.now(UTC)
    sig = wh.sign("msg_2", now, body)
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": sig}
    assert signing.verify([SECRET], headers, body.encode()) == "msg_2"

    with pytest.raises(ProblemError) as tampered:
        signing.verify([SECRET], headers, b'{"order_id":"A-2"}')
    assert tampered.value.slug == "webhook-signature-invalid"
    with pytest.raises(ProblemError) as wrong:
        signing.verify([signing.new_secret()], headers, body.encode())
    assert wrong.value.slug == "webhook-signature-invalid"
    with pytest.raises(ProblemError) as stale:
        signing.verify([SECRET], headers, body.encode(), now=time.time() + 3600)
    assert stale.value.slug == "webhook-timestamp-stale"
    with pytest.raises(ProblemError) as missing:
        signing.verify([SECRET], {}, body.encode())
    assert missing.value.status == 401


def test_a_rotated_secret_still_verifies_during_rotation() -> None:
    body = b"{}"
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.signed_headers(old, "m", body)
    assert signing.verify([new, old], headers, body) == "m"


def test_backoff_grows_with_jitter_and_gives_up_after_the_schedule() -> None:
    import random

    rng = random.Random(7)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    schedule = (5, 300, 1800)
    waits = [(next_attempt(n, schedule, now, rng) - now).total_seconds() for n in (1, 2, 3)]  # type: ignore[operator]
    assert 4 <= waits[0] <= 6 and 240 <= waits[1] <= 360 and 1440 <= waits[2] <= 2160
    assert next_attempt(4, schedule, now, rng) is None


async def test_events_are_delivered_signed_to_subscribers(notes: Any) -> None:
    async with notes() as svc, webhook_sink() as sink:
        sub = await svc.client.post("/v1/webhooks/subscriptions", json={"url": sink.url, "event_types": ["test.note.created"]}, headers=svc.auth())
        assert sub.status_code == 201, sub.text
        secret = sub.json()["secret"]
        bad = await svc.client.post("/v1/webhooks/subscriptions", json={"url": sink.url, "event_types": ["no.such"]}, headers=svc.auth())
        assert bad.status_code == 422 and bad.json()["type"].endswith("/unknown-event-type")

        r = await svc.client.post("/v1/notes", json={"customer_id": "c-9", "seq": 1, "body": "hi"}, headers=svc.auth())
        note_id = r.json()["id"]
        await eventually(lambda: len(sink.received) == 1)
        got = sink.received[0]
        event = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
        assert event["type"] == "test.note.created" and event["data"]["note_id"] == note_id
        await eventually(lambda: scalar(svc, "SELECT status = 'succeeded' FROM webhook_deliveries"))
        log = (await svc.client.get("/v1/webhooks/deliveries", headers=svc.auth())).json()["items"]
        assert len(log) == 1 and log[0]["status"] == "succeeded" and log[0]["attempts"] == 1


async def test_failing_receiver_is_retried_logged_then_dead_and_can_be_redelivered(notes: Any) -> None:
    async with notes() as svc, webhook_sink() as sink:
        svc.runtime.webhooks.schedule = (0.05, 0.05)
        sink.status = 500
        await svc.client.post("/v1/webhooks/subscriptions", json={"url": sink.url, "event_types": ["*"]}, headers=svc.auth())
        await svc.client.post("/v1/notes", json={"customer_id": "c-9", "seq": 1, "body": "hi"}, headers=svc.auth())
        await eventually(lambda: scalar(svc, "SELECT status = 'dead' FROM webhook_deliveries"), timeout_s=30)
        delivery = (await svc.client.get("/v1/webhooks/deliveries", headers=svc.auth())).json()["items"][0]
        detail = (await svc.client.get(f"/v1/webhooks/deliveries/{delivery['id']}", headers=svc.auth())).json()
        assert [a["attempt"] for a in detail["attempts_log"]] == [1, 2, 3]
        assert all(a["status_code"] == 500 for a in detail["attempts_log"])
        assert len(sink.received) == 3
        assert len({r.headers["webhook-id"] for r in sink.received}) == 1, "retries keep the message id"

        sink.status = 204
        r = await svc.client.post(f"/v1/webhooks/deliveries/{delivery['id']}/redeliver", headers=svc.auth())
        assert r.status_code == 200
        await eventually(lambda: scalar(svc, "SELECT status = 'succeeded' FROM webhook_deliveries"))
        assert len(sink.received) == 4


async def test_a_slow_receiver_does_not_hold_up_another(notes: Any) -> None:
    async with notes() as svc, webhook_sink() as slow, webhook_sink() as fast:
        slow.delay_s = 8
        for url in (slow.url, fast.url):
            await svc.client.post("/v1/webhooks/subscriptions", json={"url": url, "event_types": ["*"]}, headers=svc.auth())
        for i in range(5):
            await svc.client.post("/v1/notes", json={"customer_id": "c", "seq": i, "body": "x"}, headers=svc.auth())
        await eventually(lambda: len(fast.received) == 5, timeout_s=6)
        await eventually(lambda: scalar(svc, "SELECT count(*) = 5 FROM webhook_deliveries WHERE status = 'succeeded'"), timeout_s=6)
        assert len(slow.received) <= 5


async def test_inbound_partner_message_is_verified_and_applied_once(notes: Any) -> None:
    async with notes(consumers_enabled=False) as svc:
        secret = svc.settings.partner_secret
        body = orjson.dumps({"customer_id": "c-1", "seq": 1, "body": "from pos"})
        headers = signing.signed_headers(secret, "pos-evt-1", body)
        first = await svc.client.post("/v1/inbound/notes", content=body, headers=headers)
        again = await svc.client.post("/v1/inbound/notes", content=body, headers=headers)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        assert await scalar(svc, "SELECT count(*) FROM notes") == 1

        forged = signing.signed_headers(signing.new_secret(), "pos-evt-2", body)
        r = await svc.client.post("/v1/inbound/notes", content=body, headers=forged)
        assert r.status_code == 401 and r.json()["type"].endswith("/webhook-signature-invalid")
        stale = signing.signed_headers(secret, "pos-evt-3", body, timestamp=int(time.time()) - 3600)
        r = await svc.client.post("/v1/inbound/notes", content=body, headers=stale)
        assert r.status_code == 401 and r.json()["type"].endswith("/webhook-timestamp-stale")
        assert await scalar(svc, "SELECT count(*) FROM notes") == 1
        assert len(await rows(svc, "SELECT * FROM inbound_webhooks")) == 1
