"""Small helpers for the emulated vendor APIs."""

import json
from functools import wraps

from django.http import JsonResponse


def vendor_endpoint(methods: tuple[str, ...]):
    """An emulated vendor API endpoint (JSON, server-to-server).

    It stands in for a *vendor's* server: our backend calls it with the
    vendor's credential headers, so no CSRF token can exist. It is marked
    ``sandbox_vendor_api``; ``SandboxVendorApiMiddleware`` lets such views
    skip the CSRF check only while PAYMENTS_SANDBOX is on."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return JsonResponse({"message": "Method Not Allowed"}, status=405)
            return view(request, *args, **kwargs)

        wrapper.sandbox_vendor_api = True
        return wrapper

    return decorate


def json_body(request) -> dict | None:
    try:
        data = json.loads(request.body.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
