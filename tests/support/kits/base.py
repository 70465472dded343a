"""What the shared contract suite (tests/payments/test_contract.py) needs to
drive one provider through ``responses``: a *kit* per provider.

A kit registers the vendor's documented answers at the provider's HTTP
boundary and builds the callbacks the vendor would send. Payloads come from
the vendor samples in ``tests/payments/vendor_samples/`` and the provider
modules' docstrings.
"""

from __future__ import annotations

from payments.models import Payment


class Kit:
    code: str = ""
    # Names a second kit of the same provider (another configuration): "" for the default.
    mode: str = ""
    method: str = ""  # a method code passed to start_payment
    payer_phone: str = ""  # E.164, when that method needs a wallet number
    otp: str = ""  # when that method is OTP-driven
    country: str = "BF"  # the customer's country for orders in these tests
    phone: str = "+22670123456"  # a valid E.164 number of that country
    currency: str = "XOF"
    signs_callbacks: bool = False
    # True when the provider has no status API and its callback is the truth.
    callback_is_truth: bool = False
    # True when a retried initiation reuses the same provider-side charge.
    idempotent_initiation: bool = False
    # False when the vendor's status answer carries no currency (Ligdicash).
    reports_currency: bool = True
    # HTTP method of the status endpoint (LengoPay: POST).
    status_method: str = "GET"

    @property
    def id(self) -> str:
        """The kit's name in test ids."""
        return f"{self.code}-{self.mode}" if self.mode else self.code

    def configure(self, settings) -> None:
        """Adjust the test's settings for this kit (pytest-django's ``settings``)."""
        settings.SHOP_CURRENCY = self.currency

    def mock_initiate_ok(self, rsps) -> None:
        """Register the create endpoint answering success (any reference)."""
        raise NotImplementedError

    def mock_initiate_error(self, rsps, status: int) -> None:
        """Register the create endpoint answering HTTP ``status`` with the vendor's error body."""
        raise NotImplementedError

    def initiate_url(self) -> str:
        """The create endpoint's full URL (for timeouts and call counts)."""
        raise NotImplementedError

    def status_url(self, payment: Payment) -> str:
        """The status endpoint's full URL for this payment ("" if none)."""
        raise NotImplementedError

    def mock_status(
        self,
        rsps,
        payment: Payment,
        outcome: str,
        amount: int | None = None,
        currency: str | None = None,
    ) -> None:
        """Register the status endpoint (and any read it needs) answering the
        vendor payload for ``outcome`` in succeeded/failed/pending/expired,
        with ``amount``/``currency`` defaulting to the payment's."""
        raise NotImplementedError

    def callback(
        self, payment: Payment, outcome: str = "succeeded", amount: int | None = None
    ) -> tuple[bytes, dict]:
        """Body bytes and headers of the vendor's callback (signed if it signs).
        Headers use Django test-client style keys, e.g. ``HTTP_X_SIGNATURE``."""
        raise NotImplementedError

    def forged(self, body: bytes, headers: dict) -> dict:
        """Headers with a wrong signature (only for providers that sign)."""
        raise NotImplementedError
