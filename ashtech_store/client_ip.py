"""The shopper's own address, seen through the TLS proxy.

Behind the documented proxy every request's ``REMOTE_ADDR`` is the proxy, so
rate limits keyed on it are shop-wide and the callback journal records only
the proxy. ``client_ip`` is the one place that knows how to read the client
from the proxy's header; django-ratelimit uses it for every ``key="ip"``
(``RATELIMIT_IP_META_KEY``), the staff login counts failures with it, and the
callback journal stores it.

Configured once, in settings (from the environment):

* ``TRUSTED_PROXY_HEADER`` empty (default): no proxy, ``REMOTE_ADDR``.
* ``X-Real-IP``: the proxy **overwrites** it with the peer address
  (nginx ``proxy_set_header X-Real-IP $remote_addr``).
* ``X-Forwarded-For``: the ``TRUSTED_PROXY_COUNT``-th address from the right,
  the one our outermost proxy appended; whatever the client wrote to the
  left of it is ignored (nginx ``$proxy_add_x_forwarded_for``).
* ``TRUSTED_PROXIES`` (optional): the proxies' addresses or networks; a
  request from anywhere else (someone reaching gunicorn directly) is keyed
  on its own ``REMOTE_ADDR`` and its header is ignored.

A missing, short or malformed header never raises: it falls back to
``REMOTE_ADDR``, so a forged value can at worst put a request under the
proxy's own key, never under somebody else's address.

With ``DEBUG`` off, a header and no ``TRUSTED_PROXIES`` is the deploy check
``ashtech.E020``: anyone reaching gunicorn directly would choose their own
address. An IPv4 client written as IPv6 (``::ffff:1.2.3.4``) is read as
IPv4, and every counter (``rate_key``) holds an IPv6 client by its /64: one
host usually owns a whole /64 and can rotate inside it at will.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """The client's IP address as text (never empty: "0.0.0.0" at worst)."""
    remote = _valid(request.META.get("REMOTE_ADDR", "")) or "0.0.0.0"
    header = settings.TRUSTED_PROXY_HEADER
    if not header or not _from_trusted_proxy(remote):
        return remote
    raw = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
    if header.lower() == "x-forwarded-for":
        hops = [hop.strip() for hop in raw.split(",") if hop.strip()]
        count = max(settings.TRUSTED_PROXY_COUNT, 1)
        if len(hops) < count:
            return remote
        return _valid(hops[-count]) or remote
    return _valid(raw.strip()) or remote


IPV6_PREFIX = 64


def rate_key(request) -> str:
    """The client as counters see it: its IPv4 address, or its IPv6 /64."""
    return network_of(client_ip(request))


def network_of(address: str) -> str:
    """``address`` itself for IPv4, its /64 (``2001:db8:1:2::/64``) for IPv6."""
    if ":" not in address:
        return address
    return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))


def session_or_ip(group, request) -> str:
    """A django-ratelimit key: the browser session, or the client address for
    a request without one (a bot dropping cookies still meets the IP limit)."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    return f"session:{key}" if key else f"ip:{rate_key(request)}"


def _valid(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return ""
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def _from_trusted_proxy(remote: str) -> bool:
    proxies = settings.TRUSTED_PROXIES
    if not proxies:
        return True
    address = ipaddress.ip_address(remote)
    for proxy in proxies:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False
