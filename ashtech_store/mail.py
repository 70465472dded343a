"""The e-mail backend of a production run whose EMAIL_URL is unset.

Confirmation e-mails carry a bearer link to the order page; printing them to
the logs (Django's console backend, the old default) leaks it. This backend
refuses to send instead, and the system check ``ashtech.E002`` stops the
shop from starting in that state in the first place.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend


class UnconfiguredEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        if self.fail_silently:
            return 0
        raise ImproperlyConfigured(
            "EMAIL_URL is not set: e-mail cannot be sent (set EMAIL_URL, e.g. smtp+tls://user:password@host:587)."
        )
