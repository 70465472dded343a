"""LengoPay kit: payloads from shared/providers/lengopay.txt.

The test settings configure no status path (as production does by default),
so LengoPay's callback carries the result (``callback_is_truth``): there is
no status endpoint, and ``mock_status`` stores the callback the services read.
"""

from __future__ import annotations

import json

from payments.models import Payment, PaymentEvent

from .base import Kit

BASE = "https://lengopay.test"
PAY_ID = "elNZc1FUZzduVzhQcjlYVWtkZ2pmVmRac1Z5anUxUG8"
STATUS = {"succeeded": "SUCCESS", "failed": "FAILED", "pending": "PENDING", "expired": "FAILED"}
MESSAGE = {"SUCCESS": "Transaction Successful", "FAILED": "Transaction Failed", "PENDING": "Transaction Pending"}


class LengopayKit(Kit):
    code = "lengopay"
    method = "lp-om-gn"
    payer_phone = "+224620124578"
    country = "GN"
    phone = "+224620124578"
    currency = "GNF"
    callback_is_truth = True
    # The callback carries no currency: the provider reports the GNF it asked for.
    reports_currency = False

    def initiate_url(self) -> str:
        return BASE + "/api/v2/cashin/request"

    def mock_initiate_ok(self, rsps) -> None:
        rsps.post(self.initiate_url(), json={"status": "Success", "pay_id": PAY_ID, "message": "Request received successfully"})

    def mock_initiate_error(self, rsps, status: int) -> None:
        rsps.post(self.initiate_url(), json={"status": "ERROR", "message": "Request failed"}, status=status)

    def status_url(self, payment: Payment) -> str:
        return ""  # no status path configured in the test settings

    def mock_status(self, rsps, payment: Payment, outcome: str, amount=None, currency=None) -> None:
        """No HTTP to register: without a status path the services read the
        stored callbacks, so store the documented callback as the view does."""
        body, _headers = self.callback(payment, outcome, amount)
        PaymentEvent.objects.create(
            payment=payment,
            provider=self.code,
            kind=PaymentEvent.Kind.CALLBACK,
            body=body,
            headers={"Content-Type": "application/json"},
            valid=True,
            message="unsigned callback (hint only)",
        )

    def callback(self, payment: Payment, outcome: str = "succeeded", amount=None) -> tuple[bytes, dict]:
        status = STATUS[outcome]
        body = {
            "pay_id": payment.provider_reference,
            "status": status,
            "amount": payment.amount if amount is None else amount,
            "message": MESSAGE[status],
            "account": "620124578",
        }
        return json.dumps(body).encode(), {}
