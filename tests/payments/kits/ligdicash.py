"""Ligdicash kit: payloads from shared/providers/ligdicash.md."""

from __future__ import annotations

import json

from payments.models import Payment

from .base import Kit

BASE = "https://ligdicash.test"
TOKEN = "eyJ0eXAiOiJKV1QiLCJ0eXNjYGRnsNe.test-token"
STATUS = {"succeeded": "completed", "failed": "nocompleted", "pending": "pending", "expired": "nocompleted"}


class LigdicashKit(Kit):
    code = "ligdicash"
    method = "hosted"
    reports_currency = False

    def initiate_url(self) -> str:
        return BASE + "/pay/v01/redirect/checkout-invoice/create"

    def mock_initiate_ok(self, rsps) -> None:
        rsps.post(
            self.initiate_url(),
            json={
                "response_code": "00",
                "token": TOKEN,
                "response_text": "https://client.ligdicash.com/directpayment/invoice/" + TOKEN,
                "description": "",
                "custom_data": {"order_id": "x", "transaction_id": "y"},
                "wiki": "https://client.ligdicash.com/wiki/createInvoice",
            },
        )

    def mock_initiate_error(self, rsps, status: int) -> None:
        body = {"response_code": "01", "token": "", "response_text": "ERR_SERVER", "description": "", "wiki": "https://client.ligdicash.com/wiki/createInvoice"}
        rsps.post(self.initiate_url(), json=body, status=status)

    def status_url(self, payment: Payment) -> str:
        return BASE + "/pay/v01/redirect/checkout-invoice/confirm/"

    def status_body(self, payment: Payment, outcome: str, amount=None) -> dict:
        return {
            "date": "2023-10-29 09:46:27+00",
            "response_code": "00",
            "token": payment.provider_reference,
            "description": "",
            "amount": str(payment.amount if amount is None else amount),
            "response_text": None,
            "status": STATUS[outcome],
            "custom_data": [
                {"id_invoice": 29505444, "keyof_customdata": "order_id", "valueof_customdata": "MonSiteOrder234"},
                {"id_invoice": 29505444, "keyof_customdata": "transaction_id", "valueof_customdata": str(payment.reference)},
            ],
            "operator_name": "ORANGE BURKINA",
            "operator_id": "11",
            "customer": "",
            "transaction_id": str(payment.reference),
            "external_id": None,
        }

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        body = self.status_body(payment, outcome, amount)
        if currency not in (None, "XOF"):
            # Ligdicash reports no currency; a foreign one cannot be expressed.
            body["status"] = "pending"
        rsps.get(self.status_url(payment), json=body)

    def callback(self, payment: Payment, outcome: str = "succeeded", amount=None) -> tuple[bytes, dict]:
        body = self.status_body(payment, outcome, amount)
        body["montant"] = body.pop("amount")
        body.update(method="post", url="https://shop.test/payments/callback/ligdicash/", hash="8bd5dc60ef2d75641fa311fbb44c5067e0040a17")
        return json.dumps(body).encode(), {}
