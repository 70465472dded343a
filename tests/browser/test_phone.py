"""A 360×740 phone in Debian's Chromium: the cart fits, its total is on the
first screen, a double tap adds one unit, checkout errors take focus, and
axe-core (shipped in tests/browser/vendor, no CDN) finds no WCAG 2.2 AA
violation on the shopper pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shop.cart import SESSION_KEY
from tests.support.browser import MARKS
from tests.support.browser import chromium as launch_chromium
from tests.support.factories import make_category, make_order, make_payment, make_product

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
    # bypass_csp only so the test can inject axe; the shop's own pages run under their CSP.
    context = chromium.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="fr-FR",
        bypass_csp=True,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.base = live_server.url
    yield page
    context.close()


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    return [f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]]


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def add(page, product) -> None:
    page.goto(f"{page.base}{product.get_absolute_url()}")
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_url("**/panier/")


def test_cart_fits_the_phone_with_its_total_on_the_first_screen(phone):
    category = make_category("Téléphones")
    for name in ("Samsung Galaxy A15 128 Go double SIM", "Écouteurs Bluetooth Oraimo FreePods"):
        add(phone, make_product(name=name, price=125000, stock=5, category=category))

    no_sideways_scroll(phone)
    total = phone.locator(".checkout-bar .cart-total strong").bounding_box()
    order = phone.get_by_role("link", name="Commander").bounding_box()
    for box in (total, order):
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["y"] + box["height"] <= 740
    assert order["height"] >= 44
    assert violations(phone) == []


def test_cart_quantity_changes_with_the_stepper_and_by_typing(phone):
    product = make_product(name="Clé USB 64 Go", price=5000, stock=9)
    add(phone, product)

    phone.get_by_role("button", name="Un « Clé USB 64 Go » de plus").click()
    phone.wait_for_load_state()
    assert phone.locator(f"#qty-{product.pk}").input_value() == "2"
    phone.fill(f"#qty-{product.pk}", "4")
    phone.locator(f"#qty-{product.pk}").dispatch_event("change")
    phone.wait_for_function(
        f"document.querySelector('#qty-{product.pk}') && "
        f"document.querySelector('#qty-{product.pk}').value === '4' && "
        "!document.querySelector('form.cart[data-sent]')"
    )
    assert "20\u202f000\u00a0FCFA" in phone.locator(".checkout-bar").inner_text()


def test_double_tap_on_add_to_cart_adds_one_unit_and_says_so(phone):
    product = make_product(name="Nokia 105", price=12500, stock=9)
    phone.goto(f"{phone.base}{product.get_absolute_url()}")
    button = phone.get_by_role("button", name="Ajouter au panier")

    button.dblclick()
    phone.wait_for_url("**/panier/")

    assert phone.locator(f"#qty-{product.pk}").input_value() == "1"
    assert phone.locator(".msg.success").count() == 1


def test_a_tapped_button_is_disabled_and_says_what_is_happening(phone):
    product = make_product(stock=9)
    phone.goto(f"{phone.base}{product.get_absolute_url()}")
    phone.evaluate(
        "document.querySelector('form.add').addEventListener('submit', e => e.preventDefault())"
    )

    phone.get_by_role("button", name="Ajouter au panier").click()

    phone.wait_for_function("document.querySelector('form.add button').disabled")
    assert phone.locator("form.add button").inner_text() == "Ajout…"


def test_checkout_errors_take_focus_and_the_page_passes_axe(phone):
    add(phone, make_product(stock=5))
    phone.goto(f"{phone.base}/commande/")
    assert violations(phone) == []

    phone.get_by_role("button", name="Continuer vers le paiement").click()
    phone.wait_for_selector("#error-summary")

    assert phone.evaluate("document.activeElement.id") == "error-summary"
    assert phone.title().startswith("Erreur")
    no_sideways_scroll(phone)
    assert violations(phone) == []


@pytest.mark.parametrize(
    "path",
    ["/", "/produits/", "/produits/?q=cle", "/mes-commandes/", "/page/livraison/", "/nulle-part/"],
)
def test_shopper_pages_have_no_wcag_violation(phone, path):
    make_product(name="Clé USB 64 Go", stock=5)
    phone.goto(phone.base + path)

    no_sideways_scroll(phone)
    assert violations(phone) == []


def test_pay_and_order_pages_fit_and_pass_axe(phone, client):
    order = make_order()
    make_payment(order)
    session = phone.context
    phone.goto(f"{phone.base}{order.get_absolute_url()}")
    assert phone.locator("#payment-status[data-url]").count() == 1
    no_sideways_scroll(phone)
    assert violations(phone) == []
    order2 = make_order(email="awa@example.bf", phone="+22676000000")
    phone.goto(f"{phone.base}/paiement/{order2.token}/")
    no_sideways_scroll(phone)
    assert violations(phone) == []
    assert json.dumps(SESSION_KEY) and session


def test_the_wallet_number_shows_only_for_an_offer_that_needs_one(phone):
    order = make_order(country="BF", phone="+22670123456")
    phone.goto(f"{phone.base}/paiement/{order.token}/")
    field = phone.locator("#payer_phone")

    phone.locator("input[name=choice]:not([data-needs-phone])").first.check()
    assert not field.is_visible()
    phone.locator("input[name=choice][data-needs-phone]").first.check()
    assert field.is_visible() and field.input_value() == "70 12 34 56"


def test_add_to_cart_stays_on_screen_below_a_tall_photo(phone):
    from io import BytesIO

    from django.core.files.base import ContentFile
    from PIL import Image

    from shop.images import make_thumbnail

    product = make_product(name="Tecno Spark 20", stock=5, description="Écran 6,6 pouces. " * 40)
    picture = BytesIO()
    Image.new("RGB", (900, 1600), (30, 90, 200)).save(picture, "JPEG")
    product.image.save("tall.jpg", ContentFile(picture.getvalue()), save=True)
    make_thumbnail(product)
    phone.goto(f"{phone.base}{product.get_absolute_url()}")

    button = phone.get_by_role("button", name="Ajouter au panier")
    box = button.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 740, box
    no_sideways_scroll(phone)
    button.click()
    phone.wait_for_url("**/panier/")
