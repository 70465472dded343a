"""The pay page lists wallets, not aggregators (issue 18), on a 360×740
phone with JavaScript off: each wallet once with how paying works, a wallet
whose every route is DOWN greyed out and not selectable, a slow one warned
about and listed lower, one aggregator still reachable under "Autres
moyens" (a <details>, no script), and axe-core finds no WCAG 2.2 AA
violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from payments.models import RouteHealth
from payments.services import health
from tests.support.browser import MARKS
from tests.support.browser import chromium as launch_chromium
from tests.support.factories import make_order

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
pytestmark = MARKS


@pytest.fixture(scope="module")
def chromium():
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def phone(chromium, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.CSRF_TRUSTED_ORIGINS = [live_server.url]
    context = chromium.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="fr-FR",
        java_script_enabled=False,
        bypass_csp=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base = live_server.url
    yield page
    context.close()


def route_state(provider: str, method: str, wallet: str, state: str) -> None:
    RouteHealth.objects.create(
        key=f"{provider}:{method}:{wallet}:CI:XOF",
        provider=provider,
        method=method,
        wallet=wallet,
        country="CI",
        currency="XOF",
        state=state,
        since=timezone.now(),
    )
    health.forget_snapshot()


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]]


def test_wallets_first_with_their_health_and_the_aggregators_one_level_down(phone, chromium):
    for wallet in ("Orange Money",):
        route_state("novasend", "mobile_money", wallet, "down")
        route_state("lygos", "hosted", wallet, "down")
    route_state("novasend", "mobile_money", "Wave", "degraded")
    route_state("lygos", "hosted", "Wave", "probing")
    order = make_order(country="CI", phone="+2250701234567")

    phone.goto(f"{phone.base}/paiement/{order.token}/")

    wallets = phone.locator("#wallets input[name=choice]")
    values = [wallets.nth(i).get_attribute("value") for i in range(wallets.count())]
    assert values == [
        "wallet:moov-money",
        "wallet:mtn-momo",
        "wallet:wave",  # slow: listed lower
        "wallet:orange-money",  # down everywhere: last, greyed out
    ]
    orange = phone.locator("#wallets label", has_text="Orange Money")
    assert orange.locator("input").is_disabled()
    assert "momentanément indisponible" in orange.inner_text()
    wave = phone.locator("#wallets label", has_text="Wave")
    assert "Paiements lents en ce moment avec Wave" in wave.inner_text()
    moov = phone.locator("#wallets label", has_text="Moov Money")
    assert moov.locator("input").is_enabled() and moov.locator("small").first.inner_text()

    lygos = phone.locator("input[value='lygos:hosted']")
    assert not lygos.is_visible()
    phone.locator("details.other-offers summary").click()  # no script needed
    assert lygos.is_visible() and lygos.is_enabled()

    # The same page with scripts on (axe needs them): no WCAG 2.2 AA violation.
    context = chromium.new_context(
        viewport={"width": 360, "height": 740}, locale="fr-FR", bypass_csp=True
    )
    page = context.new_page()
    page.goto(f"{phone.base}/paiement/{order.token}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(page) == []
    context.close()
