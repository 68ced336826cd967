"""Security checks across the five services, over every endpoint their OpenAPI documents list
(so an endpoint is covered the day it is added):

- tokens that are expired, forged (another secret, `alg: none`, another algorithm, a
  tampered payload) or from another issuer are refused with a 401 problem;
- inbound webhooks refuse unsigned, stale, future-dated and wrongly signed messages;
- each service limits each client (429 + Retry-After) and documents it on every operation;
- injection strings (SQL, LIKE wildcards, HTML, a right-to-left override) are stored and
  returned literally and search treats them literally; a NUL character is a clean 422;
- personal data never reaches the logs of a running platform.

Covered elsewhere and not repeated here: missing and wrong-scope tokens on every endpoint
(`tests/test_platform_conventions.py`), signature verification against the reference
Standard Webhooks package (`shared/tests/test_webhooks.py`), replays of loyalty's partner
purchase webhook (`services/loyalty/tests/test_partner_webhook_and_batch.py` in-process,
`tests/test_e2e_journeys.py` over HTTP) and the token bucket itself (`shared/tests/test_http_platform.py`).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import RunningPlatform, launch_platform
from wafa_shared.auth import mint_token
from wafa_shared.services import installed_services
from wafa_shared.testing.events import eventually
from wafa_shared.testing.platform import protected_operations
from wafa_shared.webhooks import signing

SERVICES = [s.name for s in installed_services()]
QUIET = {"consumers_enabled": False, "relay_enabled": False, "webhooks_enabled": False}
PARTNER_SECRET = signing.new_secret()


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _bad_tokens(secret: str, issuer: str) -> dict[str, str]:
    """Tokens that must never be accepted, each naming an admin."""
    now = int(time.time())
    admin = {"sub": "attacker", "scope": "admin", "iat": now, "exp": now + 600, "iss": issuer}
    expired = {**admin, "iat": now - 7200, "exp": now - 3600}
    weak = mint_token(secret, "reader", ["nothing:read"], issuer=issuer)
    header, _, signature = weak.split(".")
    return {
        "expired": jwt.encode(expired, secret, algorithm="HS256"),
        "another secret": mint_token("an-attacker-secret-of-sufficient-length-0123456789", "attacker", ["admin"], issuer=issuer),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(admin)}.",
        "another algorithm": jwt.encode(admin, secret, algorithm="HS512"),
        "tampered payload": f"{header}.{_b64(admin)}.{signature}",
        "another issuer": mint_token(secret, "attacker", ["admin"], issuer="not-wafa"),
        "not a jwt": "admin",
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery uses the 42-byte test secret
@pytest.mark.parametrize("service", SERVICES)
async def test_every_endpoint_refuses_expired_and_forged_tokens_with_a_401_problem(wafa_service: Any, service: str) -> None:
    async with wafa_service(service, **QUIET) as svc:
        operations = protected_operations((await svc.client.get("/openapi.json")).json())
        tokens = _bad_tokens(svc.settings.jwt_secret, svc.settings.jwt_issuer)
        refused = []
        for method, path in operations:
            for kind, token in tokens.items():
                r = await svc.client.request(method, path, headers={"Authorization": f"Bearer {token}"})
                if r.status_code != 401 or not r.headers["content-type"].startswith("application/problem+json"):
                    refused.append(f"{method} {path} with a token ({kind}) answered {r.status_code}")
        assert not refused, "\n".join(refused)
        assert len(operations) * len(tokens) >= 50, "every service has protected endpoints"


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_limits_each_client_with_a_documented_429_and_retry_after(wafa_service: Any, service: str) -> None:
    """The shared limiter is tested on a toy service (shared/tests); this shows each real service runs it and says so."""
    async with wafa_service(service, rate_limit_per_s=0.5, rate_limit_burst=2, **QUIET) as svc:
        spec = (await svc.client.get("/openapi.json")).json()
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                if path not in ("/healthz", "/readyz", "/metrics"):
                    assert "Retry-After" in op["responses"]["429"]["headers"], f"{method.upper()} {path} documents its 429"
        path = next(p for p, ops in spec["paths"].items() if p.startswith("/v1/") and "{" not in p and "get" in ops)
        greedy = svc.auth()
        codes = [(await svc.client.get(path, headers=greedy)).status_code for _ in range(3)]
        assert codes[2] == 429, f"GET {path}: {codes}"
        limited = await svc.client.get(path, headers=greedy)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json" and limited.json()["type"].endswith("/rate-limited")
        assert (await svc.client.get(path, headers=svc.auth(subject="another-client"))).status_code != 429
        assert (await svc.client.get("/healthz")).status_code == 200


INBOUND_SETTINGS = {"loyalty": {"partner_secrets": [PARTNER_SECRET]}}  # services that verify only once a secret is set


@pytest.mark.parametrize("service", SERVICES)
async def test_every_inbound_webhook_refuses_unsigned_stale_future_dated_and_forged_messages(wafa_service: Any, service: str) -> None:
    async with wafa_service(service, **QUIET, **INBOUND_SETTINGS.get(service, {})) as svc:
        spec = (await svc.client.get("/openapi.json")).json()
        inbound = [path for method, path in protected_operations(spec) if "/inbound/" in path and method == "POST"]
        body = b'{"id": "x"}'
        now = int(time.time())
        cases = [
            ("webhook-signature-missing", {}),
            ("webhook-timestamp-stale", signing.signed_headers(PARTNER_SECRET, "msg-stale", body, timestamp=now - 3600)),
            ("webhook-timestamp-stale", signing.signed_headers(PARTNER_SECRET, "msg-future", body, timestamp=now + 3600)),
            ("webhook-timestamp-invalid", {**signing.signed_headers(PARTNER_SECRET, "msg-bad-ts", body), "webhook-timestamp": "yesterday"}),
            ("webhook-signature-invalid", signing.signed_headers(signing.new_secret(), "msg-forged", body)),
        ]
        for path in inbound:
            for slug, headers in cases:
                r = await svc.client.post(path, content=body, headers={**headers, **svc.auth()})  # a valid token does not stand in for a signature
                assert (r.status_code, r.json()["type"]) == (401, f"https://wafa.dev/problems/{slug}"), f"{path}: {headers.get('webhook-id')}"


INJECTIONS = {
    "sql": "Robert'); DROP TABLE customers;--",
    "like": "100%_off",
    "html": "<script>alert('wafa')</script>",
    "rtl": "Mallory \u202egnp.exe",
    "quotes": 'O\'Brien "the" \\ Elder',
}


async def test_injection_strings_are_stored_and_returned_literally_and_searched_literally(wafa_service: Any) -> None:
    async with wafa_service("customer") as svc:
        h = svc.auth()
        made = {}
        for kind, text in INJECTIONS.items():
            r = await svc.client.post("/v1/customers", json={"given_name": text, "family_name": kind, "city": text, "tags": [text]}, headers=h)
            assert r.status_code == 201, r.text
            assert r.headers["content-type"] == "application/json"
            made[kind] = r.json()["id"]
        for kind, text in INJECTIONS.items():
            c = (await svc.client.get(f"/v1/customers/{made[kind]}", headers=h)).json()
            assert (c["given_name"], c["city"], c["tags"], c["display_name"]) == (text, text, [text], f"{text} {kind}")

        # LIKE wildcards in a search are characters: "%" and "_" match only themselves
        decoys = {"percent": "ZzXWild", "underscore": "YyXUnder"}
        literal = {"percent": "Zz%Wild", "underscore": "Yy_Under"}
        for kind in decoys:
            for name in (decoys[kind], literal[kind]):
                assert (await svc.client.post("/v1/customers", json={"given_name": name, "family_name": kind}, headers=h)).status_code == 201

        async def search(**params: str) -> list[str]:
            r = await svc.client.get("/v1/customers", params={**params, "limit": 100}, headers=h)
            assert r.status_code == 200, r.text
            return sorted(i["display_name"] for i in r.json()["items"])

        for param in ("name", "q"):
            assert await search(**{param: "Zz%"}) == ["Zz%Wild percent"]
            assert await search(**{param: "Yy_"}) == ["Yy_Under underscore"]
            assert await search(**{param: "%"}) == []  # no name starts with "%": not "every customer"
            assert await search(**{param: "100%_"}) == ["100%_off like"]
            assert await search(**{param: "Robert'); DROP"}) == ["Robert'); DROP TABLE customers;-- sql"]
        assert await search(tag=INJECTIONS["html"]) == [f"{INJECTIONS['html']} html"]
        assert len(await search()) == len(INJECTIONS) + 4, "the customers table is still there, with every row"


async def test_a_nul_character_anywhere_in_the_input_is_a_clean_422_and_writes_nothing(wafa_service: Any) -> None:
    async with wafa_service("customer") as svc:
        h = svc.auth()
        for body in (
            {"given_name": "Nul\u0000Byte"},
            {"given_name": "Tagged", "tags": ["a\u0000b"]},
            {"given_name": "Ext", "external_ids": [{"source": "pos", "id": "P\u00001"}]},
        ):
            r = await svc.client.post("/v1/customers", json=body, headers=h)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"] == "application/problem+json"
        for params in ({"name": "Nul\u0000"}, {"q": "a\u0000"}, {"email": "a\u0000@x"}, {"tag": "\u0000"}):
            r = await svc.client.get("/v1/customers", params=params, headers=h)
            assert r.status_code == 422, f"{params}: {r.status_code} {r.text}"
            assert r.headers["content-type"] == "application/problem+json"
        assert (await svc.client.get("/v1/customers", headers=h)).json()["items"] == []
    async with wafa_service("loyalty", **QUIET) as svc:
        program = {"name": "Nul", "currency": "SAR", "earn_rate": "1", "point_value": "0.05"}
        assert (await svc.client.post("/v1/programs", json=program, headers=svc.auth())).status_code == 201
        r = await svc.client.post("/v1/rewards", json={"name": "Free\u0000coffee", "kind": "gift", "cost_points": "100"}, headers=svc.auth())
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
        assert (await svc.client.get("/v1/rewards", headers=svc.auth())).json()["items"] == []


# ------------------------------------------------------------------------------------------
# Personal data and the logs
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged_platform(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    with launch_platform(infra, Path(tmp_path_factory.mktemp("pii")), name="pii", env={"WAFA_LOG_LEVEL": "INFO"}) as running:
        yield running


async def _publish_poison(bootstrap: str, topic: str, customer_id: str, data: dict[str, Any]) -> None:
    """A `customer.registered` as a buggy producer might send it (consumers cannot apply it)."""
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "type": "customer.registered", "source": "customer", "subject": customer_id, "data": data}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(event).encode(), key=customer_id.encode())
    finally:
        await producer.stop()


@pytest.mark.slow
async def test_personal_data_never_appears_in_any_service_log(infra: Any, logged_platform: RunningPlatform) -> None:
    p = logged_platform
    tag = uuid.uuid4().hex[:6]
    people = [
        {
            "given_name": f"Zubaida{tag}",
            "family_name": f"Qarawiyyin{tag}",
            "email": f"zubaida.{tag}@pii.example",
            "phone": "0551234567",
            "city": f"Unaizah{tag}",
        },
        {
            "given_name": f"Thaddeus{tag}",
            "family_name": f"Okonkwo{tag}",
            "email": f"thaddeus.{tag}@pii.example",
            "phone": "+971501112233",
            "city": f"Sharjah{tag}",
        },
    ]
    clients = {name: p.client(name) for name in SERVICES}
    try:
        for c in clients.values():
            await eventually(lambda c=c: _ready(c), timeout_s=120)
        customer, loyalty = clients["customer"], clients["loyalty"]
        program = {"name": f"PII {tag}", "currency": "SAR", "earn_rate": "1", "point_value": "0.05", "tiers": [{"name": "Base", "threshold": "0"}]}
        assert (await loyalty.post("/v1/programs", json=program)).status_code == 201
        ids = []
        for person in people:
            r = await customer.post(
                "/v1/customers", json={**person, "country": "SA", "birth_date": "1985-02-03"}, headers={"Idempotency-Key": f"pii-{uuid.uuid4()}"}
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
            consents = {"channels": {"email": "granted", "sms": "granted"}, "source": "web-form"}
            assert (await customer.put(f"/v1/customers/{ids[-1]}/consents", json=consents)).status_code == 200
        first, second = ids
        # the everyday things a back office does with personal data: search, update, export, import, mistakes
        for params in ({"q": people[0]["email"]}, {"name": people[1]["given_name"]}, {"phone": "0551234"}):
            assert (await customer.get("/v1/customers", params=params)).status_code == 200
        assert (await customer.patch(f"/v1/customers/{first}", json={"city": f"Buraydah{tag}", "phone": "0557654321"})).status_code == 200
        assert (await customer.get(f"/v1/customers/{first}/export")).status_code == 200
        csv = "external_id,given_name,family_name,email,phone\n"
        csv += f"X1{tag},Imported{tag},Person{tag},imported.{tag}@pii.example,0559876543\nX2{tag},,,not-an-email-{tag},\n"
        r = await customer.post("/v1/customers/import", content=csv, params={"wait": "true"}, headers={"Content-Type": "text/csv"})
        assert r.status_code == 200 and r.json()["created"] == 1 and r.json()["failed"] == 1, r.text
        r = await customer.post("/v1/customers", json={"given_name": f"Invalid{tag}", "email": f"broken-{tag}@", "phone": "12"})
        assert r.status_code == 422
        r = await customer.post("/v1/customers", json={"given_name": f"Nul{tag}\u0000"})
        assert r.status_code == 422

        async def member(cid: str) -> bool:
            return (await loyalty.get(f"/v1/members/{cid}")).status_code == 200

        for cid in ids:
            await eventually(lambda cid=cid: member(cid), timeout_s=60)
            body = {
                "customer_id": cid,
                "order_id": f"pii-{uuid.uuid4().hex}",
                "occurred_at": datetime.now(UTC).isoformat(),
                "currency": "SAR",
                "lines": [{"sku": "SKU-1", "quantity": "1", "unit_price": "120"}],
            }
            assert (await loyalty.post("/v1/purchases", json=body)).status_code == 201
        assert (await customer.delete(f"/v1/customers/{second}")).status_code in (200, 202, 204)  # erasure travels to every service

        # events a buggy producer might send: consumers retry, dead-letter and log them, without their personal data
        assert p.processes is not None
        topic = p.processes.env["WAFA_TOPIC_PREFIX"] + "wafa.customer"
        now = datetime.now(UTC).isoformat()
        for poison in (
            {"display_name": f"Poison{tag} Person", "email": f"poison.{tag}@pii.example", "phone": "+966509998877", "country": "SAU"},  # too long a country
            {"given_name": f"Mangled{tag}", "email": f"mangled.{tag}@pii.example", "phone": 966508887766},  # a phone that is not text
            {"display_name": f"Overlong{tag} Person", "email": f"overlong.{tag}.{'x' * 400}@pii.example", "phone": "+966507776655"},  # beyond columns
        ):
            cid = str(uuid.uuid4())
            await _publish_poison(infra.bootstrap, topic, cid, {"customer_id": cid, "registered_at": now, **poison})

        async def dead_lettered() -> bool:
            """Each consumer handling registrations has dead-lettered the unparseable ones (the
            survey service has no handler for them and skips the type unparsed)."""
            for name in ("loyalty", "analytics", "touch-scheduler"):
                r = await clients[name].get("/v1/ops/summary")
                if r.status_code != 200 or r.json()["dead_letters"] < 1:
                    return False
            return True

        await eventually(dead_lettered, timeout_s=90, interval_s=0.5)

        async def settled() -> bool:
            """Every service has published its outbox and its consumers have caught up."""
            for c in clients.values():
                r = await c.get("/v1/ops/summary")
                s = r.json()
                if r.status_code != 200 or s["outbox_backlog"] or any(x["lag"] != 0 for x in s["consumers"]):
                    return False
            return True

        await eventually(settled, timeout_s=90, interval_s=0.5)
    finally:
        for c in clients.values():
            await c.aclose()

    assert p.processes is not None
    logs = {f.name: f.read_text(errors="replace") for f in (p.processes.home / "logs").glob("*.log")}
    assert {f"{s}.log" for s in SERVICES} <= set(logs), f"every service logged to {p.processes.home / 'logs'}"
    assert sum(len(text) for text in logs.values()) > 0
    secrets = {
        *(v for person in people for k, v in person.items() if k != "phone"),
        *(person["email"].upper() for person in people),
        "+966551234567",
        "551234567",
        "+971501112233",
        "501112233",
        "+966557654321",
        "557654321",
        "559876543",  # phones as written and stored
        f"Buraydah{tag}",
        f"Imported{tag}",
        f"Person{tag}",
        f"imported.{tag}@pii.example",
        f"not-an-email-{tag}",
        f"broken-{tag}@",
        f"Invalid{tag}",
        f"Nul{tag}",
        "1985-02-03",
        *(f"{who}{tag}" for who in ("Poison", "poison.", "Mangled", "mangled.", "Overlong", "overlong.")),
        "509998877",
        "508887766",
        "507776655",
    }
    leaks = [f"{name}: {secret!r}" for name, text in logs.items() for secret in secrets if secret.lower() in text.lower()]
    assert not leaks, "personal data in the logs:\n" + "\n".join(leaks)


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200
