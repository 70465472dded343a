"""DEXCHANGE kit: payloads as DEXCHANGE documents them (the merchant-link
page of docs-api.dexchange.sn and the official SDK's types; see
payments/providers/dexchange.py and tests/payments/vendor_samples/dexchange/)."""

from __future__ import annotations

import json

from payments.models import Payment

from .base import Kit

BASE = "https://dexchange.test"
TRANSACTION_ID = "MID123456789"
STATUS = {"succeeded": "SUCCESS", "failed": "FAILED", "pending": "PENDING", "expired": "EXPIRED"}


class DexchangeKit(Kit):
    code = "dexchange"
    method = "hosted"
    country = "SN"
    phone = "+221771234567"
    currency = "XOF"
    # A retry sends the same externalTransactionId: DEXCHANGE answers 409,
    # never a second charge (the attempt's outcome stays unknown).
    idempotent_initiation = True
    # The merchant-transaction answer has no currency (amounts are FCFA).
    reports_currency = False

    def initiate_url(self) -> str:
        return BASE + "/api/v1/transaction/merchant/get-link"

    def mock_initiate_ok(self, rsps) -> None:
        def answer(request):
            reference = json.loads(request.body)["externalTransactionId"]
            body = {
                "success": True,
                "transactionId": TRANSACTION_ID,
                "PaymentUrl": "https://pay.dexchange.sn/process/" + TRANSACTION_ID,
                "externalTransactionId": reference,
                "Status": "PENDING",
            }
            return 201, {}, json.dumps(body)

        rsps.add_callback(
            "POST", self.initiate_url(), callback=answer, content_type="application/json"
        )

    def mock_initiate_error(self, rsps, status: int) -> None:
        rsps.post(
            self.initiate_url(),
            json={"message": ["Error description"], "success": False},
            status=status,
        )

    def status_url(self, payment: Payment) -> str:
        return f"{BASE}/api/v1/transaction/merchant/{payment.provider_reference}"

    def status_body(self, payment: Payment, outcome: str, amount=None) -> dict:
        return {
            "message": "Transaction fetched successfully",
            "transaction": {
                "Merchant": "Ashtech Store",
                "ItemName": "Commande",
                "Amount": payment.amount if amount is None else amount,
                "Number": "771234567",
                "Status": STATUS[outcome],
                "Initiated_at": "2024-03-20T10:30:00Z",
                "Completed_at": None if outcome == "pending" else "2024-03-20T10:35:00Z",
                "SuccessUrl": f"https://shop.test/payments/return/{payment.reference}/",
            },
        }

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        body = self.status_body(payment, outcome, amount)
        if currency not in (None, "XOF"):
            # DEXCHANGE reports no currency (FCFA only); a foreign one cannot be expressed.
            body["transaction"]["Status"] = "PENDING"
        rsps.get(self.status_url(payment), json=body)

    def callback(
        self, payment: Payment, outcome: str = "succeeded", amount=None
    ) -> tuple[bytes, dict]:
        """The webhook with the official SDK's keys (``WebhookEvent``)."""
        amount = payment.amount if amount is None else amount
        body = {
            "id": payment.provider_reference,
            "externalTransactionId": str(payment.reference),
            "transactionType": "MERCHANT",
            "AMOUNT": amount,
            "FEE": 0,
            "PHONE_NUMBER": "771234567",
            "STATUS": STATUS[outcome],
            "CUSTOM_DATA": json.dumps({"reference": str(payment.reference)}),
            "COMPLETED_AT": "2024-03-20T10:35:00Z",
            "BALANCE": 100000 + amount,
            "PREVIOUS_BALANCE": 100000,
            "CURRENT_BALANCE": 100000 + amount,
        }
        return json.dumps(body).encode(), {}
