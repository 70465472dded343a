"""Content-Security-Policy header, on every page, staff pages included.

Django 5.2 has no built-in CSP; the policy is one fixed string (no inline
scripts or styles anywhere in our templates), so a few lines do instead of a
dependency. There is no ``form-action``: the payment
start form answers with a redirect to the provider's hosted page, and
browsers apply ``form-action`` to that redirect too.

Staff pages (``/admin/``: the model admin and the back-office pages) get the
same policy plus the SHA-256 of each inline ``<script>`` or ``<style>`` block
that Django's own admin templates carry (5.2 has one: the change list's
``<style>`` when it shows no actions). The hashes are read from the installed
admin templates at start-up, so an upgrade of Django keeps them right; a
block built from template variables would get no hash and be blocked, which
a test catches.
"""

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

from django.conf import settings

POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src "
    "'none'; base-uri 'self'; frame-ancestors 'none'"
)
_INLINE = re.compile(r"<(script|style)(\s[^>]*)?>(.*?)</\1>", re.S)


@cache
def admin_inline_hashes() -> dict[str, list[str]]:
    """{"script": [...], "style": [...]}: CSP hash sources of the inline blocks
    in django.contrib.admin's templates (blocks with a ``src`` are files)."""
    import django.contrib.admin

    found: dict[str, set[str]] = {"script": set(), "style": set()}
    root = Path(django.contrib.admin.__file__).parent / "templates"
    for template in root.rglob("*.html"):
        for kind, attributes, body in _INLINE.findall(template.read_text(encoding="utf-8")):
            if "src=" in (attributes or "") or not body.strip() or "{{" in body or "{%" in body:
                continue
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            found[kind].add(f"'sha256-{digest}'")
    return {kind: sorted(hashes) for kind, hashes in found.items()}


def staff_policy(policy: str) -> str:
    """``policy`` with the admin's inline blocks allowed by hash."""
    hashes = admin_inline_hashes()
    for kind in ("script", "style"):
        if hashes[kind]:
            policy = policy.replace(
                f"{kind}-src 'self'", f"{kind}-src 'self' {' '.join(hashes[kind])}"
            )
    return policy


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", POLICY)
        self.staff = staff_policy(self.policy)

    def __call__(self, request):
        response = self.get_response(request)
        policy = self.staff if request.path.startswith("/admin/") else self.policy
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


class StaffSessionMiddleware:
    """Ends a staff session on the server ``STAFF_SESSION_AGE`` seconds after
    login, whatever the browser keeps; see ashtech_store.staff_login."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.contrib.auth import logout

        from .staff_login import LOGIN_AT_KEY, staff_session_expired

        session = getattr(request, "session", None)
        if session is not None and LOGIN_AT_KEY in session and staff_session_expired(session):
            logout(request)
        return self.get_response(request)
