"""Ligdicash kit: payloads from the vendor text as corrected by
developers.ligdicash.com (see ``payments.providers.ligdicash``): a refusal is
``notcompleted`` and confirm answers it with ``response_code`` "01"; the
callback's ``token`` is empty and ``custom_data`` ends with LigdiCash's own
``hash`` and ``logfile``; each event comes form-encoded and as JSON."""

from __future__ import annotations

import json

from payments.models import Payment
from payments.providers.base import FORM
from payments.providers.ligdicash import form_encode

from .base import Kit

BASE = "https://ligdicash.test"
TOKEN = "eyJ0eXAiOiJKV1QiLCJ0eXNjYGRnsNe.test-token"
STATUS = {
    "succeeded": "completed",
    "failed": "notcompleted",
    "pending": "pending",
    "expired": "notcompleted",
}


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
        body = {
            "response_code": "01",
            "token": "",
            "response_text": "Echec (Code04)",
            "description": "",
            "wiki": "https://client.ligdicash.com/wiki/createInvoice",
        }
        rsps.post(self.initiate_url(), json=body, status=status)

    def status_url(self, payment: Payment) -> str:
        return BASE + "/pay/v01/redirect/checkout-invoice/confirm/"

    def status_body(self, payment: Payment, outcome: str, amount=None) -> dict:
        failed = STATUS[outcome] == "notcompleted"
        return {
            "date": "2023-10-29 09:46:27+00",
            "response_code": "01" if failed else "00",
            "token": payment.provider_reference,
            "description": "",
            "amount": str(payment.amount if amount is None else amount),
            "response_text": "Echec (Code05)" if failed else None,
            "status": STATUS[outcome],
            "custom_data": [
                {
                    "id_invoice": 29505444,
                    "keyof_customdata": "order_id",
                    "valueof_customdata": "MonSiteOrder234",
                },
                {
                    "id_invoice": 29505444,
                    "keyof_customdata": "transaction_id",
                    "valueof_customdata": str(payment.reference),
                },
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

    def callback_body(self, payment: Payment, outcome: str = "succeeded", amount=None) -> dict:
        status = self.status_body(payment, outcome, amount)
        custom = status["custom_data"] + [
            {
                "id_invoice": 29505444,
                "keyof_customdata": "hash",
                "valueof_customdata": (
                    "f918c54d54cdc334ade09f8c228a224b1d3df646250c84dcdd99af528ddcd450"
                ),
            },
            {
                "id_invoice": 29505444,
                "keyof_customdata": "logfile",
                "valueof_customdata": "2026050907202369fee03756652",
            },
        ]
        return {
            "date": status["date"],
            "method": "post",
            "response_code": status["response_code"],
            "response_text": status["response_text"],
            "token": "",  # empty for payins
            "montant": status["amount"],
            "status": status["status"],
            "custom_data": custom,
            "operator_name": status["operator_name"],
            "operator_id": status["operator_id"],
            "transaction_id": status["transaction_id"],
            "external_id": None,
            "url": "https://shop.test/payments/callback/ligdicash/",
            "hash": "8bd5dc60ef2d75641fa311fbb44c5067e0040a17",
        }

    def callback(
        self, payment: Payment, outcome: str = "succeeded", amount=None
    ) -> tuple[bytes, dict]:
        """The JSON delivery (the second of the pair)."""
        return json.dumps(self.callback_body(payment, outcome, amount)).encode(), {}

    def form_callback(
        self, payment: Payment, outcome: str = "succeeded", amount=None
    ) -> tuple[bytes, dict]:
        """The form-encoded delivery (the first of the pair): ``custom_data``
        as a JSON string, nulls left out."""
        return form_encode(self.callback_body(payment, outcome, amount)), {"CONTENT_TYPE": FORM}
