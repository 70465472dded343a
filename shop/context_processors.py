"""Values every page's header needs; no query beyond the cached categories."""

from django.conf import settings

from .cart import SESSION_KEY
from .fragments import nav_categories, nav_html


def shop(request):
    raw = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    count = sum(q for q in raw.values() if isinstance(q, int)) if isinstance(raw, dict) else 0
    return {
        "shop_name": settings.SHOP_NAME,
        "shop_currency": settings.SHOP_CURRENCY,
        "cart_count": count,
        # Built here, before any template renders (templates never query).
        "nav_categories": nav_categories() if not request.path.startswith("/admin/") else [],
        "nav_html": nav_html() if not request.path.startswith("/admin/") else "",
        "sandbox": settings.PAYMENTS_SANDBOX,
    }
