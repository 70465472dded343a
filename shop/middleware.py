"""Two shopper-facing guards, to be listed in MIDDLEWARE (see the README).

* ``FrenchUnlessChosen`` (before LocaleMiddleware): the shop opens in French
  unless the shopper picked English with the language buttons. Cheap
  Android phones are often set to English while the catalogue is French, so
  ``Accept-Language`` is not a choice the shopper made (UX review §3).
* ``FriendlyErrors`` (last): an unexpected error shows the shop's French
  500 page, even with ``DEBUG`` on as in ``make run``; Django's debug page
  stays for the staff admin. The exception is logged as Django would.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.http import HttpResponseServerError
from django.template.loader import render_to_string

log = logging.getLogger("django.request")


class FrenchUnlessChosen:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class FriendlyErrors:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not settings.DEBUG or request.path.startswith("/admin/"):
            return None  # production: Django's own handler renders 500.html
        log.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=sys.exc_info()
            if sys.exc_info()[0]
            else (type(exception), exception, exception.__traceback__),
        )
        return HttpResponseServerError(render_to_string("500.html"))
