"""Staff login: failed passwords slow their sender down, nobody else.

A plain rate limit per username let anyone lock the shop owner out with five
bad passwords a minute. Here only **failures** count, in the default cache:

* per (username, client address): from ``LOGIN_FREE_FAILURES`` failures on,
  each new one doubles the wait before the next try from that address for
  that username (2, 4, 8 … seconds, at most ``LOGIN_MAX_DELAY``);
* per client address alone, with four times the allowance: one address
  trying many usernames slows down too.

A correct password from another address is never held back, and a success
clears that (username, address) counter. The client address is the real
one behind the TLS proxy, an IPv6 client counted by its /64
(``ashtech_store.client_ip.rate_key``).

The same module makes staff sessions short: they end when the browser
closes and, on the server, ``STAFF_SESSION_AGE`` seconds after login
(``StaffSessionMiddleware`` in ``ashtech_store.middleware``).
"""

from __future__ import annotations

import hashlib
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from .client_ip import rate_key

COUNTER_TTL = 24 * 3600
PER_IP_FACTOR = 4
LOGIN_AT_KEY = "staff_login_at"


def _keys(username: str, ip: str) -> list[tuple[str, int]]:
    """(cache key, free failures) for the pair and for the address alone."""
    name = hashlib.blake2b(username.strip().lower()[:150].encode(), digest_size=12).hexdigest()
    free = settings.LOGIN_FREE_FAILURES
    return [(f"login-fail:{name}:{ip}", free), (f"login-fail-ip:{ip}", free * PER_IP_FACTOR)]


def delay_after(failures: int, free: int) -> int:
    """Seconds to wait after ``failures`` failures: 0 within the allowance,
    then 2, 4, 8 … capped at LOGIN_MAX_DELAY."""
    if failures < free:
        return 0
    return min(2 ** (failures - free + 1), settings.LOGIN_MAX_DELAY)


def seconds_to_wait(username: str, ip: str) -> int:
    now = time.time()
    until = max((cache.get(key + ":until") or 0) for key, _ in _keys(username, ip))
    return max(0, int(until - now + 0.999))


def record_failure(username: str, ip: str) -> None:
    for key, free in _keys(username, ip):
        cache.add(key, 0, COUNTER_TTL)
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, COUNTER_TTL)
            failures = 1
        delay = delay_after(failures, free)
        if delay:
            cache.set(key + ":until", time.time() + delay, delay)


def record_success(username: str, ip: str) -> None:
    key, _ = _keys(username, ip)[0]
    cache.delete_many([key, key + ":until"])


def throttled(login_view):
    """Wrap the admin login view: a POST during its sender's wait gets 429."""

    @wraps(login_view)
    def view(request, *args, **kwargs):
        if request.method == "POST":
            wait = seconds_to_wait(request.POST.get("username", ""), rate_key(request))
            if wait:
                return too_many_attempts(request, wait)
        return login_view(request, *args, **kwargs)

    return view


def too_many_attempts(request, wait: int) -> HttpResponse:
    message = _(
        "Trop d'échecs de connexion depuis votre adresse. Réessayez dans %(n)s secondes."
    ) % {"n": wait}
    body = render_to_string("shop/rate_limited.html", {"message": message}, request=request)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(wait)
    return response


def on_login_failed(sender, credentials, request=None, **kwargs):
    if request is not None:
        record_failure(str(credentials.get("username", "")), rate_key(request))


def on_logged_in(sender, request, user, **kwargs):
    if request is None:
        return
    record_success(user.get_username(), rate_key(request))
    if user.is_staff:
        request.session.set_expiry(0)  # the cookie ends with the browser
        request.session[LOGIN_AT_KEY] = int(time.time())


def staff_session_expired(session) -> bool:
    login_at = session.get(LOGIN_AT_KEY)
    return isinstance(login_at, int) and time.time() - login_at > settings.STAFF_SESSION_AGE
