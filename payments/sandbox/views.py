"""The sandbox's hosted payment page, shared by every emulated provider.

After "Payer" / "Refuser" the shopper goes where the real vendor would send
them (UX review 2026-12-03, U-08), from ../shared/providers/EVIDENCE.md and
each provider module's docstring:

* **back to the shop by the vendor** — Ligdicash's hosted page
  (``return_url`` / ``cancel_url`` of the invoice), Lygos (``success_url`` /
  ``failure_url``, docs.lygosapp.com/modules/gateway "(8) Redirection selon le
  Statut"), DEXCHANGE (``successUrl`` / ``failureUrl`` of get-link): the page
  redirects at once, and shows "Retour à la boutique" (the same address) if it
  is opened again;
* **nowhere** — Novasend: a payin session has no return URL
  (docs.novasend.app/payin; ``payments/providers/novasend.py``), so its page
  offers no link back and says to come back to the shop by oneself;
* **a simulated phone** — push and OTP flows (Ligdicash Moov and Orange
  direct payin, LengoPay cash-in): in real life the shopper never leaves the
  shop's waiting page, so the sandbox's phone links back to it.
"""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from .core import emulator, settle, shop_url
from .models import SandboxPayment

# Vendors whose page never sends the shopper back (see the module docstring).
NO_WAY_BACK = {"novasend"}


@require_http_methods(["GET", "POST"])
def page(request, provider: str, token: str):
    """ "Payer" / "Refuser" for a pending emulated payment; the truth afterwards."""
    sp = get_object_or_404(SandboxPayment, provider=provider, token=token)
    try:
        module = emulator(provider)
    except (KeyError, ImportError):
        raise Http404 from None
    if request.method == "POST" and sp.status == SandboxPayment.Status.PENDING:
        action = request.POST.get("action")
        if action in ("pay", "refuse"):
            sp = settle(
                sp,
                SandboxPayment.Status.SUCCEEDED
                if action == "pay"
                else SandboxPayment.Status.FAILED,
            )
            target = shop_url(module.browser_target(sp))
            if target:  # never a redirect off the shop
                return HttpResponseRedirect(target)
    kind, back = _way_back(module, sp)
    context = {
        "sp": sp,
        "provider_name": getattr(module, "NAME", provider),
        "kind": kind,
        "back": back,
    }
    return render(request, "sandbox/page.html", context)


def _way_back(module, sp: SandboxPayment) -> tuple[str, str]:
    """("vendor", the shop's return address) when the vendor sends the shopper
    back; ("none", "") when it does not; ("phone", the shop's return view)
    for a push or OTP flow, whose page stands for the shopper's phone."""
    if sp.provider in NO_WAY_BACK:
        return "none", ""
    target = shop_url(module.browser_target(sp))  # "" only for push and OTP flows
    if target:
        return "vendor", "" if sp.status == SandboxPayment.Status.PENDING else target
    try:
        return "phone", reverse("payments:return", args=[sp.merchant_reference])
    except NoReverseMatch:
        return "phone", ""
