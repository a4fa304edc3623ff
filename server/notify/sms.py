"""The SMS channel for urgent kinds: a gateway interface, a log gateway (the default) and an HTTP
webhook gateway an operator points at a real SMS provider (LINLI_SMS_WEBHOOK_URL).

The webhook gets `POST {"id", "to", "text", "kind"}` as JSON with
`X-Linli-Timestamp: <unix seconds>` and `X-Linli-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>">`, keyed with LINLI_SMS_WEBHOOK_SECRET; a 2xx means taken. It is retried on a
timeout, a refused connection, 429 (Retry-After honoured) and 5xx, and never on another 4xx.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Protocol

import requests

from dispatch.deliveries import Verdict, verdict_for_status
from server.notify.push import Attempt, retry_after_seconds

log = logging.getLogger(__name__)
MAX_SMS_CHARS = 120


class SmsGateway(Protocol):
    def send(self, *, delivery_id: int, phone: str, text: str, kind: str) -> Attempt:
        """Hand one text to the gateway."""


class LogGateway:
    """Writes the text to the log: the default, until an operator configures a real gateway."""

    def send(self, *, delivery_id: int, phone: str, text: str, kind: str) -> Attempt:
        log.info("sms (log gateway) delivery %s to %s…%s: %s", delivery_id, phone[:3], phone[-2:], text)
        return Attempt(Verdict.SENT)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Linli-Signature value for a body sent at timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


class WebhookGateway:
    """POSTs each text, signed, to the operator's webhook; never follows a redirect."""

    def __init__(self, url: str, secret: str, *, timeout: tuple[float, float] = (3.05, 10.0),
                 session: requests.Session | None = None, clock=time.time):
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.trust_env = False
        self._clock = clock

    def send(self, *, delivery_id: int, phone: str, text: str, kind: str) -> Attempt:
        body = json.dumps({"id": delivery_id, "to": phone, "text": text, "kind": kind},
                          ensure_ascii=False).encode()
        stamp = str(int(self._clock()))
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Linli-Timestamp": stamp,
                   "X-Linli-Signature": signature(self.secret, stamp, body)}
        try:
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout,
                                         allow_redirects=False)
        except requests.Timeout:
            return Attempt(Verdict.RETRY, error="timeout")
        except requests.RequestException as exc:
            return Attempt(Verdict.RETRY, error=f"{type(exc).__name__}: {exc}"[:300])
        verdict = verdict_for_status(response.status_code)
        if verdict is Verdict.GONE:  # a webhook's 404 is a misconfiguration, not an unsubscribed phone
            verdict = Verdict.RETRY
        error = None if verdict is Verdict.SENT else f"HTTP {response.status_code} {response.text[:200]}".strip()
        response.close()
        return Attempt(verdict, retry_after_seconds(response.headers.get("Retry-After")), error)


def gateway_for(url: str | None, secret: str) -> SmsGateway:
    """The webhook gateway when a URL is configured, else the log gateway."""
    return WebhookGateway(url, secret) if url else LogGateway()
