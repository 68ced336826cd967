"""Standard Webhooks signatures (https://www.standardwebhooks.com).

Signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the signature header holds
space-separated `v1,<base64 HMAC-SHA256>` entries (several during a secret rotation).
Secrets are `whsec_` + base64 of at least 24 random bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from wafa_shared.problems import ProblemError

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
        "content-type": "application/json",
    }


def verify(secrets_: list[str], headers: Mapping[str, str], body: bytes, *, tolerance_s: int = 300, now: float | None = None) -> str:
    """Check id, timestamp tolerance and signature; returns the webhook id.
    Raises a 401 problem naming what failed."""
    msg_id = headers.get("webhook-id")
    ts_raw = headers.get("webhook-timestamp")
    sig_header = headers.get("webhook-signature")
    if not msg_id or not ts_raw or not sig_header:
        raise ProblemError(401, "webhook-signature-missing", "webhook-id, webhook-timestamp and webhook-signature headers are required.")
    try:
        ts = int(ts_raw)
    except ValueError:
        raise ProblemError(401, "webhook-timestamp-invalid", "webhook-timestamp must be Unix seconds.") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        raise ProblemError(401, "webhook-timestamp-stale", f"webhook-timestamp is more than {tolerance_s} s away from now.")
    given = {part.split(",", 1)[1] for part in sig_header.split() if part.startswith("v1,") and "," in part}
    for secret in secrets_:
        expected = sign(secret, msg_id, ts, body).split(",", 1)[1]
        if any(hmac.compare_digest(expected, g) for g in given):
            return msg_id
    raise ProblemError(401, "webhook-signature-invalid", "The webhook signature does not match.")
