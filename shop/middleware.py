"""Two shopper-facing guards, to be listed in MIDDLEWARE (see the README).

* ``FrenchUnlessChosen`` (before LocaleMiddleware): the shop opens in French
  unless the shopper picked English with the language buttons. Cheap
  Android phones are often set to English while the catalogue is French, so
  ``Accept-Language`` is not a choice the shopper made (UX review §3).
* ``FriendlyErrors`` (last): with ``DEBUG`` on, as in ``make run``, the
  shopper sees what production shows: the French "Page introuvable" (HTTP
  404) for a missing product, page, order or URL, the shop's 429 page for a
  rate limit (django-ratelimit's middleware renders it), and the friendly
  500 page for an unexpected error, logged as Django would. Django's debug
  pages stay for the staff admin, and for developers who set
  ``DEBUG_ERROR_PAGES=true``.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotFound, HttpResponseServerError
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
        response = self.get_response(request)
        if (
            response.status_code == 404
            and getattr(request, "resolver_match", None) is None
            and self._shopper_debug(request)
        ):
            # No URL matched: Django answered with its technical 404 page.
            return self._not_found(request)
        return response

    def process_exception(self, request, exception):
        if not self._shopper_debug(request):
            return None  # production: Django's own handlers render 404.html / 500.html
        if isinstance(exception, PermissionDenied):
            return None  # a rate limit (RatelimitMiddleware → 429) or a 403, as in production
        if isinstance(exception, Http404):
            return self._not_found(request)
        log.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=sys.exc_info()
            if sys.exc_info()[0]
            else (type(exception), exception, exception.__traceback__),
        )
        return HttpResponseServerError(render_to_string("500.html"))

    @staticmethod
    def _shopper_debug(request) -> bool:
        """DEBUG on, a shopper page, and no developer asking for Django's pages."""
        return (
            settings.DEBUG
            and not getattr(settings, "DEBUG_ERROR_PAGES", False)
            and not request.path.startswith("/admin/")
        )

    @staticmethod
    def _not_found(request):
        return HttpResponseNotFound(render_to_string("404.html", request=request))
