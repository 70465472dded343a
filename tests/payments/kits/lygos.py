"""Lygos kit: payloads from shared/providers/lygos.txt (gateway, payin status,
error bodies). Lygos documents no callback."""

from __future__ import annotations

import json

from payments.models import Payment

from .base import Kit

BASE = "https://lygos.test/v1"
GATEWAY_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
USER_ID = "6f1d2e1a-9a53-4c8e-b3a4-0d2f5c7e9b10"
STATUS = {"succeeded": "success", "failed": "failed", "pending": "pending", "expired": "failed"}


def gateway_body(order_id: str, amount: int, currency: str = "XOF", gateway_id: str = GATEWAY_ID) -> dict:
    """The documented answer of POST /gateway (and, with user_country, GET /gateway/{id})."""
    return {
        "id": gateway_id,
        "amount": amount,
        "currency": currency,
        "shop_name": "Ashtech Store",
        "message": "Commande",
        "user_id": USER_ID,
        "creation_date": "2023-11-07T05:31:56Z",
        "link": f"https://pay.lygosapp.com/checkout/{gateway_id}",
        "order_id": order_id,
        "success_url": f"https://shop.test/payments/return/{order_id}/",
        "failure_url": f"https://shop.test/payments/cancel/{order_id}/",
    }


class LygosKit(Kit):
    code = "lygos"
    method = "hosted"
    country = "BF"
    phone = "+22670123456"
    currency = "XOF"
    has_callbacks = False
    # A retry sends the same order_id: Lygos answers 409 and the provider
    # reuses the existing gateway found in GET /gateway.
    idempotent_initiation = True

    def initiate_url(self) -> str:
        return BASE + "/gateway"

    def mock_initiate_ok(self, rsps) -> None:
        def answer(request):
            sent = json.loads(request.body)
            return 200, {}, json.dumps(gateway_body(sent["order_id"], sent["amount"]))

        rsps.add_callback("POST", self.initiate_url(), callback=answer, content_type="application/json")

    def mock_initiate_error(self, rsps, status: int) -> None:
        rsps.post(self.initiate_url(), body="Internal Server Error" if status == 500 else "Bad Gateway", status=status, content_type="text/plain")

    def status_url(self, payment: Payment) -> str:
        return f"{BASE}/gateway/payin/{payment.reference}"

    def gateway_url(self, payment: Payment) -> str:
        return f"{BASE}/gateway/{payment.provider_reference}"

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        rsps.get(self.status_url(payment), json={"order_id": str(payment.reference), "status": STATUS[outcome]})
        gateway = gateway_body(str(payment.reference), payment.amount if amount is None else amount, currency or "XOF", payment.provider_reference)
        gateway.pop("user_id")
        gateway["user_country"] = {"name": "Burkina Faso", "iso_code": "BFA"}
        rsps.get(self.gateway_url(payment), json=gateway)

    def callback(self, payment: Payment, outcome: str = "succeeded", amount=None) -> tuple[bytes, dict]:
        # Lygos sends none; what a forger might post is refused with 404.
        return json.dumps({"order_id": str(payment.reference), "status": STATUS[outcome]}).encode(), {}

    def forged(self, body: bytes, headers: dict) -> dict:
        return {}
