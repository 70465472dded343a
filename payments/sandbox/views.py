"""The sandbox's hosted payment page, shared by every emulated provider."""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from .core import emulator, settle, shop_url
from .models import SandboxPayment


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
    return render(
        request, "sandbox/page.html", {"sp": sp, "provider_name": getattr(module, "NAME", provider)}
    )
