"""Lygos kit: payloads from the Lygos API docs (gateway, payin status, error
bodies; docs.lygosapp.com/api-reference) and its signed webhooks
(docs.lygosapp.com/modules/webhooks: ``X-Signature`` = HMAC-SHA256 of the
body followed by ``X-Timestamp``, Unix milliseconds).

The webhook payload is unpublished: the kit posts what the sandbox posts
(``payments.sandbox.lygos.webhook_body``): the payin object plus the
gateway's id, amount and currency. The shop only reads ``order_id`` from it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from payments.models import Payment

from .base import Kit

BASE = "https://lygos.test/v1"
GATEWAY_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
USER_ID = "6f1d2e1a-9a53-4c8e-b3a4-0d2f5c7e9b10"
STATUS = {"succeeded": "success", "failed": "failed", "pending": "pending", "expired": "failed"}
SECRETS = ("test-lygos-whsec-old", "test-lygos-whsec-new")  # tests/settings.py
SIGNATURE = "HTTP_X_SIGNATURE"
TIMESTAMP = "HTTP_X_TIMESTAMP"


def gateway_body(
    order_id: str, amount: int, currency: str = "XOF", gateway_id: str = GATEWAY_ID
) -> dict:
    """The documented answer of POST /gateway (and, with user_country, GET /gateway/{id})."""
    return {
        "id": gateway_id,
        "amount": amount,
        "currency": currency,
        "shop_name": "Ashtech Store",
        "message": "Commande",
        "user_id": USER_ID,
        "creation_date": "2023-11-07T05:31:56Z",
        "link": f"https://pay.lygosapp.com/link/{gateway_id}",
        "order_id": order_id,
        "success_url": f"https://shop.test/payments/return/{order_id}/",
        "failure_url": f"https://shop.test/payments/cancel/{order_id}/",
    }


def now_ms() -> str:
    return str(int(time.time() * 1000))


def sign(body: bytes, timestamp: str, secret: str = SECRETS[0]) -> str:
    """The recipe of docs.lygosapp.com/modules/webhooks, written out here (not
    the module's helper) so a wrong recipe in the module fails the tests."""
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def webhook(
    order_id: str, status: str, amount: int, gateway_id: str = GATEWAY_ID, currency: str = "XOF"
) -> bytes:
    body = {
        "id": gateway_id,
        "order_id": order_id,
        "status": status,
        "amount": amount,
        "currency": currency,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def signed_headers(body: bytes, timestamp: str | None = None, secret: str = SECRETS[0]) -> dict:
    """Django test-client headers of a signed webhook."""
    timestamp = timestamp or now_ms()
    return {TIMESTAMP: timestamp, SIGNATURE: sign(body, timestamp, secret)}


class LygosKit(Kit):
    code = "lygos"
    method = "hosted"
    country = "BF"
    phone = "+22670123456"
    currency = "XOF"
    signs_callbacks = True
    # A retry sends the same order_id: Lygos answers 409 and the provider
    # reuses the existing gateway found in GET /gateway.
    idempotent_initiation = True

    def initiate_url(self) -> str:
        return BASE + "/gateway"

    def mock_initiate_ok(self, rsps) -> None:
        def answer(request):
            sent = json.loads(request.body)
            return 200, {}, json.dumps(gateway_body(sent["order_id"], sent["amount"]))

        rsps.add_callback(
            "POST", self.initiate_url(), callback=answer, content_type="application/json"
        )

    def mock_initiate_error(self, rsps, status: int) -> None:
        rsps.post(
            self.initiate_url(),
            body="Internal Server Error" if status == 500 else "Bad Gateway",
            status=status,
            content_type="text/plain",
        )

    def status_url(self, payment: Payment) -> str:
        return f"{BASE}/gateway/payin/{payment.reference}"

    def gateway_url(self, payment: Payment) -> str:
        return f"{BASE}/gateway/{payment.provider_reference}"

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        rsps.get(
            self.status_url(payment),
            json={"order_id": str(payment.reference), "status": STATUS[outcome]},
        )
        gateway = gateway_body(
            str(payment.reference),
            payment.amount if amount is None else amount,
            currency or "XOF",
            payment.provider_reference,
        )
        gateway.pop("user_id")
        gateway["user_country"] = {"name": "Burkina Faso", "iso_code": "BFA"}
        rsps.get(self.gateway_url(payment), json=gateway)

    def callback(
        self, payment: Payment, outcome: str = "succeeded", amount=None
    ) -> tuple[bytes, dict]:
        body = webhook(
            str(payment.reference),
            STATUS[outcome],
            payment.amount if amount is None else amount,
            payment.provider_reference or GATEWAY_ID,
        )
        return body, signed_headers(body)

    def forged(self, body: bytes, headers: dict) -> dict:
        timestamp = headers.get(TIMESTAMP) or now_ms()
        return {TIMESTAMP: timestamp, SIGNATURE: sign(body, timestamp, "whsec-of-an-attacker")}


def post_gateway(client, body: dict, key: str | None):
    """POST a gateway creation to the sandbox (``key`` None: no api-key header)."""
    headers = {"api-key": key} if key is not None else {}
    return client.post(
        "/sandbox/lygos/gateway",
        data=json.dumps(body),
        content_type="application/json",
        headers=headers,
    )
