"""CSRF for the sandbox's emulated vendor APIs.

Those views (``payments.sandbox.api.vendor_endpoint``) play the vendor's
server: the shop's own backend calls them, authenticated by the vendor's
credential headers, never a browser session, so they cannot carry a CSRF
token. This middleware, placed just before Django's CsrfViewMiddleware,
marks such requests as already checked — only while PAYMENTS_SANDBOX is on,
and only for views marked ``sandbox_vendor_api``. Every page of the shop,
the sandbox's own hosted page included, keeps the CSRF check.

It is also the sandbox's outage switch: while ``core.create_fails(provider)``
the provider's emulated create call answers 503, as a vendor in an outage
would (route health and the fallback are tried with it).
"""

from django.conf import settings
from django.http import JsonResponse

from .core import CREATE_VIEWS, create_fails


class SandboxVendorApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if settings.PAYMENTS_SANDBOX and getattr(view_func, "sandbox_vendor_api", False):
            request.csrf_processing_done = True
            provider = view_func.__module__.rsplit(".", 1)[-1]
            creating = view_func.__name__ in CREATE_VIEWS.get(provider, ())
            if creating and request.method == "POST" and create_fails(provider):
                return JsonResponse({"message": "Service Unavailable"}, status=503)
        return None
