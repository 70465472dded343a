"""Small helpers for the emulated vendor APIs."""

import json
from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


def vendor_endpoint(methods: tuple[str, ...]):
    """A CSRF-free JSON endpoint (a vendor API, not a page of ours)."""

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
