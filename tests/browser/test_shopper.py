"""A shopper and a staff member in a real browser (Debian's Chromium driven by
Playwright), against a live server with the sandbox and a real Celery worker.

For each provider: find a product, add it, check out, pay — and once per
provider refuse — and see the right final page. A staff member logs into the
admin and sees the payment's events. A screenshot of every step is saved
under ``test-artifacts/`` when a test fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from payments.models import Payment
from tests.support.browser import MARKS, chromium
from tests.support.e2e import ROUTES, Route, setup_route
from tests.support.factories import make_product

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = MARKS


@pytest.fixture(scope="module")
def browser():
    with chromium(
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ) as browser:
        yield browser


class Steps:
    """A phone-sized page that screenshots every step, kept on failure."""

    def __init__(self, browser, name: str):
        self.context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.name = re.sub(r"[^\w-]", "_", name)
        self.shots: list[tuple[str, bytes]] = []

    def shot(self, label: str) -> None:
        self.shots.append((label, self.page.screenshot(full_page=True)))

    def save(self) -> None:
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        for index, (label, png) in enumerate(self.shots):
            (folder / f"{index:02d}-{label}.png").write_bytes(png)


@pytest.fixture
def steps(browser, request):
    s = Steps(browser, request.node.name)
    yield s
    failed = getattr(request.node, "rep_call", None)
    if failed is None or failed.failed or os.environ.get("SAVE_SCREENSHOTS"):
        try:
            s.shot("at-failure")
        except Exception:  # noqa: BLE001 - the page may be gone
            pass
        s.save()
    s.context.close()


def shop_and_pay(steps: Steps, base: str, route: Route, product_name: str, action: str) -> None:
    page = steps.page
    page.goto(base + "/")
    steps.shot("home")
    page.fill("#q", product_name.split()[0])
    page.press("#q", "Enter")
    page.get_by_role("link", name=product_name).first.click()
    steps.shot("product")
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_url("**/panier/")
    steps.shot("cart")
    page.get_by_role("link", name="Commander").click()
    page.fill("#id_full_name", "Ndèye Fàtou Diop")
    page.fill("#id_email", "ndeye@example.com")
    page.select_option("#id_country", route.country)
    page.fill("#id_phone", route.phone)
    steps.shot("checkout")
    page.get_by_role("button", name="Continuer vers le paiement").click()
    page.wait_for_url("**/paiement/**")
    pay_url = page.url
    # One aggregator's own offer: under "Autres moyens" (issue 18, wallet first).
    page.locator("details.other-offers summary").click()
    page.check(f"input[value='{route.provider}:{route.method}']")
    if page.locator(
        "#payer_phone"
    ).is_visible():  # shown only for a choice that needs a wallet number
        page.fill("#payer_phone", route.phone)
    steps.shot("choose")
    page.get_by_role("button", name=re.compile("^Payer")).click()
    if page.locator("#otp").count():
        page.fill("#otp", "123456")
        page.get_by_role("button", name="Valider le paiement").click()
    page.wait_for_load_state()
    steps.shot("after-start")
    if "/sandbox/page/" not in page.url:
        link = page.get_by_role("link", name="Bac à sable : ouvrir le téléphone simulé")
        if link.count():
            waiting = page.url
            link.click()
            steps.shot("phone")
            page.get_by_role(
                "button", name="Refuser" if action == "refuse" else "Payer", exact=True
            ).click()
            page.goto(waiting)
        return
    steps.shot("provider-page")
    page.get_by_role(
        "button", name="Refuser" if action == "refuse" else "Payer", exact=True
    ).click()
    if route.provider == "novasend":
        # Novasend has no return URL: the shopper comes back to the shop by
        # themselves, and the payment page takes them to the waiting page.
        page.goto(pay_url)


def expect_final(steps: Steps, text: str) -> None:
    steps.page.get_by_text(text).first.wait_for(timeout=30_000)
    steps.shot("final")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.id)
def test_shopper_pays(sandbox_shop, settings, steps, route):
    setup_route(route, settings)
    product = make_product(name=f"Casque Audio {route.provider}", price=4500, stock=5)
    shop_and_pay(steps, sandbox_shop, route, product.name, "pay")
    expect_final(steps, "Merci ! Votre paiement est reçu.")
    assert Payment.objects.get(order__email="ndeye@example.com").status == "succeeded"


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.method != "moov_bf"], ids=lambda r: r.provider
)
def test_shopper_refuses(sandbox_shop, settings, steps, route):
    setup_route(route, settings)
    product = make_product(name=f"Chargeur Rapide {route.provider}", price=4500, stock=1)
    shop_and_pay(steps, sandbox_shop, route, product.name, "refuse")
    expect_final(steps, "a été refusé. Choisissez un autre moyen ou réessayez.")
    product.refresh_from_db()
    assert product.stock == 1
    assert steps.page.get_by_role("link", name="Réessayer avec un autre moyen").count() == 1


def test_staff_sees_the_payment_events(sandbox_shop, settings, steps, django_user_model):
    route = ROUTES[0]
    setup_route(route, settings)
    product = make_product(name="Clavier Bluetooth", price=9000, stock=5)
    shop_and_pay(steps, sandbox_shop, route, product.name, "pay")
    expect_final(steps, "Merci ! Votre paiement est reçu.")
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-Pass-123")
    page = steps.page
    page.goto(sandbox_shop + "/admin/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "s3cret-Pass-123")
    page.click("input[type=submit]")
    payment = Payment.objects.get(order__email="ndeye@example.com")
    page.goto(f"{sandbox_shop}/admin/payments/payment/{payment.pk}/change/")
    steps.shot("admin-payment")
    assert page.get_by_text("attempt created").count() >= 1
    assert page.get_by_text(re.compile("^succeeded")).count() >= 1
    assert page.get_by_text("Requête au prestataire").count() >= 1
