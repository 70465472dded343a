"""Caps on what one client address may hold, against fake identities.

The per-order caps (lines, units, value) and the open orders per phone,
e-mail and session stop one shopper; someone with a fresh phone number,
e-mail and browser for every order got past them all and held 16 M XOF of
goods a minute from one address (review 2026-12-03 F-05). So, per client
address (``client_ip.rate_key``: an IPv4 address or an IPv6 /64):

* at most ``SHOP_MAX_ORDERS_PER_ADDRESS_HOUR`` orders placed in an hour;
* at most ``SHOP_MAX_HELD_VALUE_PER_ADDRESS`` of goods reserved by orders
  placed within ``ORDER_RESERVATION_TTL`` (the longest any of them can hold
  its stock; a paid order still counts until then, which errs on the safe
  side).

Counted in the default cache (Redis in production) in five-minute buckets:
``claim`` counts an order before it is placed and ``give_back`` undoes it
when placing fails, so two checkouts at once cannot both slip under a cap.
Many shoppers behind one carrier NAT share an address: the caps are set
well above what one household orders (README, security).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from ashtech_store.client_ip import rate_key

BUCKET = 300
HOUR = 3600


@dataclass(frozen=True)
class Claim:
    address: str
    bucket: int
    value: int


def _keys(kind: str, address: str, now_bucket: int, seconds: int) -> list[str]:
    count = max(1, -(-seconds // BUCKET))
    return [f"hoard:{kind}:{address}:{now_bucket - i}" for i in range(count)]


def _add(key: str, amount: int) -> None:
    cache.add(key, 0, HOUR + BUCKET + max(settings.ORDER_RESERVATION_TTL, 0))
    try:
        cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.set(key, amount, HOUR + BUCKET)


def claim(request, value: int) -> tuple[Claim | None, str]:
    """Count an order of ``value`` for the request's address. Returns the
    claim to ``give_back`` if placing fails, or (None, why) when a cap is
    reached (nothing counted then). Off, like every rate limit, with
    ``RATELIMIT_ENABLE=false`` (the benchmark)."""
    if not settings.RATELIMIT_ENABLE:
        return None, ""
    address = rate_key(request)
    bucket = int(time.time()) // BUCKET
    _add(f"hoard:n:{address}:{bucket}", 1)
    _add(f"hoard:v:{address}:{bucket}", value)
    counts = cache.get_many(_keys("n", address, bucket, HOUR))
    values = cache.get_many(_keys("v", address, bucket, settings.ORDER_RESERVATION_TTL))
    mine = Claim(address, bucket, value)
    if sum(counts.values()) > settings.SHOP_MAX_ORDERS_PER_ADDRESS_HOUR:
        give_back(mine)
        return None, _(
            "Trop de commandes passées depuis votre connexion cette heure-ci. Payez une commande "
            "en cours ou réessayez plus tard."
        )
    if sum(values.values()) > settings.SHOP_MAX_HELD_VALUE_PER_ADDRESS:
        give_back(mine)
        return None, _(
            "Trop d'articles sont déjà réservés depuis votre connexion. Payez une commande en "
            "cours ou réessayez dans une heure."
        )
    return mine, ""


def give_back(claim: Claim) -> None:
    """Undo a claim whose order was not placed."""
    for kind, amount in (("n", 1), ("v", claim.value)):
        try:
            cache.decr(f"hoard:{kind}:{claim.address}:{claim.bucket}", amount)
        except ValueError:
            pass
