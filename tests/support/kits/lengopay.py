"""LengoPay kit: payloads from the vendor text (cash-in, callback) and from
LengoPay's status doc (``POST /api/v2/cashin/transaction``, copied in
Morymirco/admin.zalama ``app/doc2.md``); samples in
``tests/payments/vendor_samples/lengopay/``.

The callback is unsigned and only triggers a status check: the status
endpoint decides (``callback_is_truth = False``). Its answer carries no
currency, so the provider reports the GNF it asked for.

``LengopayCallbackTruthKit`` runs the same rows with the status path
configured empty (README, the less safe mode): the callback decides.
"""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from payments.models import Payment
from payments.providers.base import PaymentView

from .base import Kit

BASE = "https://lengopay.test"
PAY_ID = "elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8"  # vendor text, "Réponse réussie"
STATUS_PATH = "/api/v2/cashin/transaction"
STATUS = {"succeeded": "SUCCESS", "failed": "FAILED", "pending": "PENDING", "expired": "FAILED"}
MESSAGE = {
    "SUCCESS": "Transaction Successful",
    "FAILED": "Transaction Failed",
    "PENDING": "Transaction Pending",
}


def view(provider_reference: str, amount: int = 1000) -> PaymentView:
    """What the services hand the provider about one Orange Money (GN) payment."""
    return PaymentView(
        reference="ref",
        provider_reference=provider_reference,
        amount=amount,
        currency="GNF",
        method="lp-om-gn",
    )


def padded(pay_id: str) -> str:
    return pay_id + "=" * (-len(pay_id) % 4)


class LengopayKit(Kit):
    code = "lengopay"
    method = "lp-om-gn"
    payer_phone = "+224620124578"
    country = "GN"
    phone = "+224620124578"
    currency = "GNF"
    callback_is_truth = False
    # The status answer carries no currency: the provider reports the GNF it asked for.
    reports_currency = False
    # LengoPay's status endpoint is a POST (read by the contract suite once it
    # registers status answers with ``kit.status_method``).
    status_method = "POST"

    def initiate_url(self) -> str:
        return BASE + "/api/v2/cashin/request"

    def mock_initiate_ok(self, rsps) -> None:
        rsps.post(
            self.initiate_url(),
            json={
                "status": "Success",
                "pay_id": PAY_ID,
                "message": "Request received successfully",
            },
        )

    def mock_initiate_error(self, rsps, status: int) -> None:
        rsps.post(
            self.initiate_url(),
            json={"status": "ERROR", "message": "Request failed"},
            status=status,
        )

    def status_url(self, payment: Payment) -> str:
        return BASE + STATUS_PATH

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        """The status answer as LengoPay's doc prints it (``pay_id`` padded,
        ``account`` a number, no currency: ``currency`` cannot be sent)."""
        rsps.upsert(
            "POST",
            self.status_url(payment),
            json={
                "status": STATUS[outcome],
                "pay_id": padded(payment.provider_reference),
                "amount": payment.amount if amount is None else amount,
                "account": 620124578,
                "date": "2023-11-20 09:37:53",
            },
        )

    def callback(
        self, payment: Payment, outcome: str = "succeeded", amount=None
    ) -> tuple[bytes, dict]:
        status = STATUS[outcome]
        body = {
            "pay_id": payment.provider_reference,
            "status": status,
            "amount": payment.amount if amount is None else amount,
            "message": MESSAGE[status],
            "account": "620124578",
        }
        return json.dumps(body).encode(), {}


class LengopayCallbackTruthKit(LengopayKit):
    """LengoPay with ``status_path`` configured empty: no status endpoint, so
    the vendor reports an outcome only by its (unsigned) callback, which
    decides; the amount is still checked."""

    mode = "callback-truth"
    callback_is_truth = True

    def configure(self, settings) -> None:
        super().configure(settings)
        lengopay = {**settings.PAYMENT_PROVIDERS["lengopay"], "status_path": ""}
        settings.PAYMENT_PROVIDERS = {**settings.PAYMENT_PROVIDERS, "lengopay": lengopay}

    def status_url(self, payment: Payment) -> str:
        return ""

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        """The vendor's only report here is its callback: delivered to the
        shop's webhook now, as LengoPay would (the next check reads it)."""
        body, headers = self.callback(payment, outcome, amount)
        response = Client().post(
            reverse("payments:callback", args=[self.code]),
            data=body,
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 200, response.content
