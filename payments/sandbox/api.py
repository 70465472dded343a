"""Small helpers for the emulated vendor APIs."""

import json
from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


def vendor_endpoint(methods: tuple[str, ...]):
    """A CSRF-free JSON endpoint: it stands in for a *vendor's* server, which
    our backend calls server-to-server, so no CSRF token can exist. Mounted
    only with PAYMENTS_SANDBOX; tests/payments/test_security.py checks that,
    besides these, only the provider callback view is exempt."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return JsonResponse({"message": "Method Not Allowed"}, status=405)
            return view(request, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorate


def json_body(request) -> dict | None:
    try:
        data = json.loads(request.body.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
