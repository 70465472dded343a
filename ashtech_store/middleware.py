"""Content-Security-Policy header.

Django 5.2 has no built-in CSP; the policy is one fixed string (no inline
scripts or styles anywhere in the templates), so a few lines do instead of a
dependency. There is no ``form-action``: the payment
start form answers with a redirect to the provider's hosted page, and
browsers apply ``form-action`` to that redirect too.
"""

from django.conf import settings

POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src "
    "'none'; base-uri 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", self.policy)
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
