"""Novasend kit: payloads from the vendor text (sessions, status; samples in
tests/payments/vendor_samples/novasend/) and docs.novasend.app/webhook (the
webhook: the transaction object, signed in ``X-Signature-Value``)."""

from __future__ import annotations

import hashlib
import hmac
import json

from payments.models import Payment

from .base import Kit

BASE = "https://novasend.test"
SESSION_REFERENCE = "tr_fhchi842jyimwiugjgszcxvb8n"
SECRETS = ("test-nova-whsec-old", "test-nova-whsec-new")  # tests/settings.py
SIGNATURE = "HTTP_X_SIGNATURE_VALUE"


def sign(body: bytes, secret: str = SECRETS[0]) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(client, body: bytes, secret: str = SECRETS[0]):
    """Deliver ``body`` to the shop's Novasend callback view, signed with ``secret``."""
    from django.urls import reverse

    return client.post(
        reverse("payments:callback", args=["novasend"]),
        data=body,
        content_type="application/json",
        HTTP_X_SIGNATURE_VALUE=sign(body, secret),
    )


def session_body(reference: str, amount: int = 300) -> dict:
    """The documented answer of POST /v1/payin/sessions."""
    return {
        "type": "payin",
        "fee": 6,
        "reference": SESSION_REFERENCE,
        "phoneNumber": "+2250749929598",
        "amount": amount,
        "chargedAmount": amount + 6,
        "status": "processing",
        "currency": "XOF",
        "customerReference": reference,
        "confirmationRequired": True,
        "confirmationStatus": "none",
        "paymentUrl": "https://link.novasend.app/link/Xk2p9Q",
        "createdAt": "2025-08-22T01:34:48.189Z",
    }


def status_body(
    reference: str,
    outcome: str,
    amount: int,
    currency: str = "XOF",
    session_reference: str = SESSION_REFERENCE,
) -> dict:
    """The documented answer of GET /v1/payin/{reference} for an outcome."""
    body = {
        "type": "payin",
        "fee": 6,
        "reference": session_reference,
        "phoneNumber": "+2250749929598",
        "customerName": "Habib",
        "amount": amount,
        "chargedAmount": amount + 6,
        "status": "processed",
        "currency": "XOF",
        "customerReference": reference,
        "confirmationRequired": True,
        "confirmationStatus": "accepted",
        "createdAt": "2025-08-22T02:00:16.026Z",
        "transaction": None,
        "failure": None,
    }
    transaction = {
        "reference": "tr_dkjd5ljficphlqmt",
        "status": "completed",
        "customerName": "dd soûl",
        "processedAt": "2025-11-05T16:12:42.096Z",
        "phoneNumber": "+2250153013761",
        "amount": f"{amount}.00",
        "fees": "0.00",
        "chargedAmount": f"{amount}.00",
        "currency": currency,
    }
    if outcome == "succeeded":
        body["transaction"] = transaction
    elif outcome == "failed":
        body["transaction"] = {**transaction, "status": "failed"}
    elif outcome == "pending":
        body.update(status="processing", confirmationStatus="none")
    elif outcome == "expired":
        body.update(status="expired", confirmationStatus="expired")
    else:
        raise ValueError(outcome)
    return body


WEBHOOK_STATES = {
    # outcome → (status, confirmationStatus, failure) a webhook may carry
    "succeeded": ("processed", "accepted", None),
    "failed": (
        "processed",
        "declined",
        {"code": "PAYMENT.DECLINED", "message": "declined by the customer"},
    ),
    "pending": ("processing", "none", None),
    "expired": ("expired", "expired", None),
}


def webhook_body(payment: Payment, outcome: str = "succeeded", amount: int | None = None) -> bytes:
    """A webhook in the docs.novasend.app/webhook shape, compact as a server sends it:
    ``id`` is Novasend's reference, ``reference`` ours."""
    amount = payment.amount if amount is None else amount
    status, confirmation, failure = WEBHOOK_STATES[outcome]
    body = {
        "id": payment.provider_reference or SESSION_REFERENCE,
        "fees": 0,
        "type": "payin",
        "amount": amount,
        "status": status,
        "failure": failure,
        "currency": "XOF",
        "customer": {"name": "Awa Traoré", "phoneNumber": "+2250702968786"},
        "createdAt": "2025-08-22T01:34:48.189Z",
        "reference": str(payment.reference),
        "paymentUrl": "https://link.novasend.app/link/Xk2p9Q",
        "chargedAmount": amount,
        "confirmationStatus": confirmation,
        "confirmationRequired": True,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class NovasendKit(Kit):
    code = "novasend"
    method = "mobile_money"
    country = "CI"
    phone = "+2250702968786"
    payer_phone = "+2250702968786"
    currency = "XOF"
    signs_callbacks = True
    # The X-Idempotency-Key is our reference: a retry replays the same session.
    idempotent_initiation = True

    def initiate_url(self) -> str:
        return BASE + "/v1/payin/sessions"

    def mock_initiate_ok(self, rsps) -> None:
        def answer(request):
            reference = json.loads(request.body)["reference"]
            return 201, {}, json.dumps(session_body(reference, json.loads(request.body)["amount"]))

        rsps.add_callback(
            "POST", self.initiate_url(), callback=answer, content_type="application/json"
        )

    def mock_initiate_error(self, rsps, status: int) -> None:
        label = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(
            status, "Error"
        )
        body = {
            "statusCode": status,
            "message": "unexpected error",
            "error": label,
            "correlationId": "d84caf0f-0941-4998-8376-68c7c9ab7913",
        }
        rsps.post(self.initiate_url(), json=body, status=status)

    def status_url(self, payment: Payment) -> str:
        return f"{BASE}/v1/payin/{payment.provider_reference or payment.reference}"

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        body = status_body(
            str(payment.reference),
            outcome,
            payment.amount if amount is None else amount,
            currency or "XOF",
            session_reference=payment.provider_reference or SESSION_REFERENCE,
        )
        rsps.get(self.status_url(payment), json=body)

    def callback(
        self, payment: Payment, outcome: str = "succeeded", amount=None
    ) -> tuple[bytes, dict]:
        body = webhook_body(payment, outcome, amount)
        return body, {SIGNATURE: sign(body)}

    def forged(self, body: bytes, headers: dict) -> dict:
        return {SIGNATURE: sign(body, "whsec-of-an-attacker")}
