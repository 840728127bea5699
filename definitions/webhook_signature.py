"""Signing and verifying webhook deliveries (HMAC-SHA256), for the sender
and for receivers written in Python. The header:

    Taskloom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>

keyed with the webhook's secret. Each attempt is signed anew with its own
time; a receiver recomputes the HMAC over the raw body it received and
refuses a signature older than its tolerance (a replayed request)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

HEADER = "Taskloom-Signature"
TOLERANCE_SECONDS = 300


class InvalidSignature(ValueError):
    """The body was not signed with this secret, or too long ago."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """The delivery's JSON, once `header` proves `body` was signed with
    `secret` within `tolerance` seconds; InvalidSignature otherwise."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        raise InvalidSignature("no timestamp in the signature header") from None
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, fields.get("v1", "")):
        raise InvalidSignature("the signature does not match the body")
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise InvalidSignature("the signature is too old")
    return json.loads(body)
