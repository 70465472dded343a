"""What a phone shopper trips over (issue 12, UX review 2026-11-29): the cart
settles stock before checkout, a double tap adds once, the order page
refreshes while a payment is pending, French error pages, accessible
checkout errors, a light product page with a real photo, search that finds,
"Mes commandes", the shop's own pages and link previews."""

from __future__ import annotations

import gzip
import html
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.text import compress_string
from PIL import Image

from shop.images import make_thumbnail
from shop.lookup import lookup_code
from shop.models import Page, Product
from tests.support.factories import hold, make_category, make_order, make_payment, make_product
from tests.support.shop import add_to_cart, cart_of, checkout_data, find_form, parse_page

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


# --- 1. the cart ---------------------------------------------------------------
def test_cart_buttons_step_a_line_up_and_down_and_remove_it(client):
    product = make_product(name="Clé USB 64 Go", stock=5)
    add_to_cart(client, product, 2)
    url = reverse("shop:cart_update")

    client.post(url, {"set": f"{product.pk}:3"})
    assert cart_of(client) == {str(product.pk): 3}
    client.post(url, {"set": f"{product.pk}:2"})
    assert cart_of(client) == {str(product.pk): 2}
    client.post(url, {"set": f"{product.pk}:0"})
    assert cart_of(client) == {}


def test_cart_form_sets_every_typed_quantity_in_one_post(client):
    first, second = make_product(stock=5), make_product(stock=5)
    add_to_cart(client, first, 1)
    add_to_cart(client, second, 1)
    form = find_form(client.get(reverse("shop:cart")), reverse("shop:cart_update"))

    client.post(form.action, form.data(**{f"qty-{first.pk}": 4, f"qty-{second.pk}": 0}))

    assert cart_of(client) == {str(first.pk): 4}


@pytest.mark.parametrize("typed", ["-1", "1.5", "abc", "100", "９"])
def test_cart_form_refuses_a_bad_quantity_and_keeps_the_cart(client, typed):
    product = make_product(stock=5)
    add_to_cart(client, product, 2)

    response = client.post(reverse("shop:cart_update"), {f"qty-{product.pk}": typed})

    assert response.status_code == 400
    assert "Saisissez une quantité entière entre 1 et 99." in text(response)
    assert cart_of(client) == {str(product.pk): 2}


def test_cart_form_refuses_more_than_the_stock(client):
    product = make_product(name="Itel A70", stock=3)
    add_to_cart(client, product, 1)

    response = client.post(reverse("shop:cart_update"), {"set": f"{product.pk}:4"})

    assert "Il ne reste que 3 « Itel A70 » en stock." in text(response)
    assert cart_of(client) == {str(product.pk): 1}


def test_a_line_out_of_stock_is_removed_in_the_cart_with_a_message(client):
    gone, kept = (
        make_product(name="Infinix Hot 40i", stock=2),
        make_product(name="Nokia 105", stock=9),
    )
    add_to_cart(client, gone, 1)
    add_to_cart(client, kept, 1)
    Product.objects.filter(pk=gone.pk).update(stock=0)

    response = client.get(reverse("shop:cart"))

    assert "« Infinix Hot 40i » n'est plus en stock : nous l'avons retiré de votre panier." in text(
        response
    )
    assert "Seulement" not in text(response)
    assert cart_of(client) == {str(kept.pk): 1}


def test_the_cart_page_puts_the_total_beside_the_order_button(client):
    product = make_product(price=12500, stock=5)
    add_to_cart(client, product, 2)

    body = client.get(reverse("shop:cart")).content.decode()

    bar = re.search(r'<div class="checkout-bar">(.*?)</div>', body, re.S).group(1)
    assert "25\u202f000\u00a0FCFA" in bar and reverse("shop:checkout") in bar
    assert "<table" not in body  # stacked lines, nothing wider than the phone


# --- 4. double taps ---------------------------------------------------------------
def test_double_tap_on_add_to_cart_adds_one_unit(client):
    product = make_product(stock=5)
    form = find_form(client.get(product.get_absolute_url()), reverse("shop:cart_add"))
    assert dict(form.fields)["add_key"]

    first = client.post(form.action, form.data())
    second = client.post(form.action, form.data())

    assert first.status_code == second.status_code == 302
    assert cart_of(client) == {str(product.pk): 1}


def test_each_visit_of_the_product_page_adds_again(client):
    product = make_product(stock=5)
    for _ in range(2):
        form = find_form(client.get(product.get_absolute_url()), reverse("shop:cart_add"))
        client.post(form.action, form.data())

    assert cart_of(client) == {str(product.pk): 2}


def test_submit_buttons_say_what_is_happening_once_tapped(client):
    order = make_order()
    hold(client, order)
    product = make_product()
    pages = [
        client.get(reverse("payments:pay", args=[order.token])),
        client.get(product.get_absolute_url()),
    ]
    bodies = [p.content.decode() for p in pages]

    assert 'data-busy="Paiement en cours…"' in bodies[0]
    assert 'data-busy="Ajout…"' in bodies[1]
    script = open(finders.find("js/shop.js"), encoding="utf-8").read()
    assert "disabled = true" in script and "data-busy" in script


# --- 10. the order page refreshes while a payment is pending ---------------------------
def test_order_page_refreshes_itself_while_a_payment_is_pending(client):
    order = make_order()
    make_payment(order)

    body = client.get(order.get_absolute_url()).content.decode()

    # Without JavaScript a meta refresh; with it, the waiting page's poller.
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in body
    assert '<script src="/static/js/wait.js" defer></script>' in body
    assert f'data-url="/paiement/{order.token}/' in body


def test_order_page_without_a_pending_payment_does_not_refresh(client):
    order = make_order()

    assert 'http-equiv="refresh"' not in client.get(order.get_absolute_url()).content.decode()


def test_order_page_shows_the_phone_the_local_way(client):
    order = make_order(phone="+22670123456")

    assert "70 12 34 56" in client.get(order.get_absolute_url()).content.decode()


# --- 11 and 8. error pages, SQLite, languages ---------------------------------------------
def test_unknown_page_is_a_french_404_in_the_shops_look(client):
    response = client.get("/nulle-part/")

    assert response.status_code == 404
    body = text(response)
    assert '<html lang="fr">' in body and "Page introuvable" in body
    assert 'href="/static/css/shop.css"' in body and 'action="/produits/"' in body


def test_404_is_english_when_the_shopper_chose_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/nulle-part/")

    assert response.status_code == 404
    assert '<html lang="en">' in text(response) and "Page not found" in text(response)


def test_shop_opens_in_french_even_for_a_phone_set_to_english(rf):
    from django.middleware.locale import LocaleMiddleware

    from shop.middleware import FrenchUnlessChosen

    seen = {}

    def view(request):
        seen["language"] = request.LANGUAGE_CODE
        return HttpResponse()

    chain = FrenchUnlessChosen(LocaleMiddleware(view))
    chain(rf.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert seen["language"] == "fr"
    chosen = rf.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    chosen.COOKIES[settings.LANGUAGE_COOKIE_NAME] = "en"
    chain(chosen)
    assert seen["language"] == "en"


def test_a_crash_shows_the_french_error_page_never_the_debug_page(rf, settings):
    from shop.middleware import FriendlyErrors

    settings.DEBUG = True

    def broken(request):
        raise RuntimeError("database is locked")

    from django.utils import translation

    middleware = FriendlyErrors(broken)
    with translation.override("fr"):
        response = middleware.process_exception(
            rf.get("/panier/"), RuntimeError("database is locked")
        )

    assert response.status_code == 500
    assert "Un problème est survenu" in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert middleware.process_exception(rf.get("/admin/"), RuntimeError("x")) is None


def test_500_page_is_french_and_needs_no_context():
    from django.template.loader import get_template
    from django.utils import translation

    with translation.override("fr"):
        body = get_template("500.html").render()

    assert "Un problème est survenu" in body and "Mes commandes" in body


def test_embedded_run_uses_wal_and_immediate_transactions_on_sqlite(tmp_path):
    code = (
        "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS']; "
        "print(o['transaction_mode'], o['init_command'])"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "ashtech_store.settings",
        "DEBUG": "true",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        check=True,
    )

    assert "IMMEDIATE" in result.stdout and "journal_mode=WAL" in result.stdout


# --- 9. accessible checkout errors ----------------------------------------------------
def test_checkout_errors_are_tied_to_their_fields_and_summarised(client):
    add_to_cart(client, make_product(stock=5), 1)

    response = client.post(reverse("shop:checkout"), checkout_data(email="awa@", phone="12"))

    body = response.content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', body))
    described = [
        i for attr in re.findall(r'aria-describedby="([^"]+)"', body) for i in attr.split()
    ]
    assert described and all(i in ids for i in described), set(described) - ids
    assert 'id="error-summary" role="alert" tabindex="-1" autofocus' in body
    assert "<title>Erreur : " in body
    assert 'href="#id_email"' in body and 'href="#id_phone"' in body


def test_cart_link_reads_the_count_out(client):
    add_to_cart(client, make_product(stock=5), 2)

    body = client.get(reverse("shop:home")).content.decode()

    assert '<span class="sr">(2 articles)</span>' in body
    assert 'aria-label="articles"' not in body


def test_input_borders_have_3_to_1_contrast_on_white():
    css = open(finders.find("css/shop.css"), encoding="utf-8").read()
    colour = re.search(r"input,select,textarea\{[^}]*border:1px solid (#[0-9a-f]{6})", css).group(1)

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    assert (1.05) / (luminance(colour) + 0.05) >= 3


# --- 2. real photos stay light --------------------------------------------------------
def real_photo() -> bytes:
    """A 4000×3000 camera-like JPEG (noise does not compress, like a real shot)."""
    from bench.phone import real_photo as make

    return make(4000, 3000)


@pytest.fixture
def photographed():
    product = make_product(
        name="Tecno Spark 20",
        stock=12,
        description="Écran 6,6 pouces, 128 Go, double SIM, batterie 5000 mAh.",
    )
    product.image.save("tecno-photo.jpg", ContentFile(real_photo()), save=True)
    make_thumbnail(product)
    product.refresh_from_db()
    return product


def test_upload_makes_webp_renditions_for_cards_and_the_product_page(photographed):
    assert [r["width"] for r in photographed.renditions] == [200, 300, 400, 640, 960]
    for rendition in photographed.renditions:
        with default_storage.open(rendition["name"]) as handle, Image.open(handle) as picture:
            assert picture.format == "WEBP"
            assert picture.size == (rendition["width"], rendition["height"])
    assert photographed.image.size > 1_000_000


def test_product_page_with_a_4000px_photo_weighs_under_60_kb_on_a_360px_phone(client, photographed):
    response = client.get(photographed.get_absolute_url(), HTTP_ACCEPT_ENCODING="gzip")
    page = parse_page(gzip.decompress(response.content))
    total = len(response.content)
    for href in page.stylesheets + [s for s in page.scripts if s]:
        with open(finders.find(href.removeprefix(settings.STATIC_URL)), "rb") as handle:
            total += len(compress_string(handle.read()))
    (img,) = page.images
    assert img["width"] == "960" and img["height"] == "720"
    # What a 360 px, DPR 2 phone picks: the slot is 100vw - 48px = 312 px,
    # 624 device px, so the first candidate at least that wide.
    assert "calc(100vw - 48px)" in img["sizes"]
    candidates = sorted(
        (int(w.rstrip("w")), url) for url, w in (c.split() for c in img["srcset"].split(", "))
    )
    url = next(url for width, url in candidates if width >= 624)
    total += default_storage.size(url.removeprefix(settings.MEDIA_URL))

    assert photographed.image.url not in gzip.decompress(response.content).decode()
    assert total <= 60_000, total


# --- 5. search finds what people type ----------------------------------------------
@pytest.fixture
def catalogue():
    phones, audio, accessories, storage = (
        make_category(n) for n in ("Téléphones", "Audio", "Accessoires", "Réseau & stockage")
    )
    names = {
        "Samsung Galaxy A15": (phones, 125000, 5),
        "Tecno Spark 20": (phones, 79000, 0),
        "Écouteurs Bluetooth Oraimo FreePods": (audio, 18500, 35),
        "Chargeur rapide 25 W": (accessories, 9500, 60),
        "Clé USB 64 Go": (storage, 5000, 100),
    }
    return {
        name: make_product(name=name, category=c, price=p, stock=s)
        for name, (c, p, s) in names.items()
    }


def found(client, **params) -> list[str]:
    response = client.get(reverse("shop:products"), params)
    return [p.name for p in response.context["products"]]


SEARCHES = [
    ("cle", ["Clé USB 64 Go"]),
    ("CLÉ usb", ["Clé USB 64 Go"]),
    ("ecouteurs", ["Écouteurs Bluetooth Oraimo FreePods"]),
    ("écouteurs", ["Écouteurs Bluetooth Oraimo FreePods"]),
    ("samsung a15", ["Samsung Galaxy A15"]),
    ("chargeurs", ["Chargeur rapide 25 W"]),
    ("telephone", ["Samsung Galaxy A15", "Tecno Spark 20"]),
    ("samsung iphone", []),
]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_search_folds_accents_plurals_and_needs_every_word(
    client, catalogue, language, query, expected
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    assert sorted(found(client, q=query)) == expected


@pytest.mark.postgres
def test_search_ranks_a_match_in_the_name_before_one_in_the_description(client):
    category = make_category("Accessoires")
    make_product(name="Coque antichoc", category=category, description="Compatible chargeur rapide")
    make_product(name="Chargeur rapide 25 W", category=category, description="USB-C")

    assert found(client, q="chargeur") == ["Chargeur rapide 25 W", "Coque antichoc"]


def test_filters_keep_products_in_stock_and_in_the_price_range(client, catalogue):
    assert "Tecno Spark 20" not in found(client, stock="1")
    assert sorted(found(client, min="9000", max="80000")) == sorted(
        ["Chargeur rapide 25 W", "Écouteurs Bluetooth Oraimo FreePods", "Tecno Spark 20"]
    )
    assert sorted(found(client, q="telephone", stock="1")) == ["Samsung Galaxy A15"]
    assert len(found(client, min="abc", max="")) == 5


def test_zero_results_offer_the_categories(client, catalogue):
    response = client.get(reverse("shop:products"), {"q": "frigo"})

    assert (
        "0 produit" in text(response)
        and "/categorie/" in response.content.decode().split("0 produit")[1]
    )


@pytest.mark.parametrize(
    "query", ["cle", "samsung a15 galaxy", "ecouteurs bluetooth oraimo freepods rapides usb"]
)
def test_search_query_count_is_constant(client, catalogue, query):
    client.get(reverse("shop:home"))  # warm the header's cached categories
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("shop:products"), {"q": query})

    assert len(queries) <= 4, [q["sql"] for q in queries]


# --- 7. finding an order again ---------------------------------------------------------
def test_my_orders_lists_the_orders_this_browser_placed(client):
    mine, other = make_order(), make_order(email="other@example.bf", phone="+22676000000")
    hold(client, mine)

    body = client.get(reverse("shop:my_orders")).content.decode()

    assert mine.number in body and mine.get_absolute_url() in body
    # (not its number: the lookup form's placeholder is an order number too)
    assert other.get_absolute_url() not in body


@pytest.mark.parametrize("typed", [str.lower, lambda code: code.replace("-", " ")])
def test_order_found_by_number_and_its_code(client, typed):
    order = make_order(email="elodie@example.bf", phone="+22670123456")

    response = client.post(
        reverse("shop:order_lookup"),
        {"code-number": order.number, "code-code": typed(lookup_code(order))},
    )

    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert order.number in client.get(reverse("shop:my_orders")).content.decode()


def test_lookup_never_tells_whether_a_number_exists(client):
    order = make_order(email="elodie@example.bf")
    wrong_contact = client.post(
        reverse("shop:order_lookup"), {"code-number": order.number, "code-code": "AAAA-AAAA"}
    )
    no_such_order = client.post(
        reverse("shop:order_lookup"), {"code-number": "AS-999999", "code-code": "AAAA-AAAA"}
    )

    assert wrong_contact.status_code == no_such_order.status_code == 400

    def strip(response) -> str:
        pattern = r'name="csrfmiddlewaretoken" value="[^"]+"|AS-999999|' + order.number
        return re.sub(pattern, "", response.content.decode())

    assert strip(wrong_contact) == strip(no_such_order)
    assert order.get_absolute_url() not in wrong_contact.content.decode()


def test_lookup_is_rate_limited(client, settings):
    settings.SHOP_ORDER_LOOKUP_RATE = "3/m"
    for _ in range(3):
        client.post(reverse("shop:order_lookup"), {"code-number": "AS-1", "code-code": "x"})

    assert (
        client.post(
            reverse("shop:order_lookup"), {"code-number": "AS-1", "code-code": "x"}
        ).status_code
        == 429
    )


# --- 6. trust: pages, delivery line, link previews -----------------------------------
@pytest.mark.parametrize(
    ("slug", "words"),
    [
        ("livraison", "avant chaque livraison"),
        ("contact", "https://wa.me/"),
        ("retours", "garantie 12 mois"),
    ],
)
def test_shop_pages_exist_and_are_linked_from_every_page(client, slug, words):
    body = client.get(reverse("shop:page", args=[slug])).content.decode()

    assert words in html.unescape(body)
    assert reverse("shop:page", args=[slug]) in client.get(reverse("shop:home")).content.decode()


def test_staff_edit_shows_on_the_page_and_english_falls_back_to_french(client):
    Page.objects.filter(slug="livraison").update(body="Bobo : 24 h.", body_en="")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    assert "Bobo : 24 h." in text(client.get(reverse("shop:page", args=["livraison"])))


def test_product_and_cart_pages_say_where_and_when_delivery_is(client, photographed):
    add_to_cart(client, photographed, 1)

    assert "Livraison à Ouagadougou sous 48 h" in text(client.get(photographed.get_absolute_url()))
    assert "Livraison à Ouagadougou sous 48 h" in text(client.get(reverse("shop:cart")))


def test_product_page_has_og_tags_for_whatsapp(client, photographed):
    body = text(client.get(photographed.get_absolute_url()))

    assert '<meta property="og:title" content="Tecno Spark 20 — ' in body
    image = re.search(r'<meta property="og:image" content="([^"]+)">', body).group(1)
    assert image.startswith(settings.SITE_URL + settings.MEDIA_URL) and image.endswith("-640.webp")
    assert (
        f'<meta property="og:url" content="{settings.SITE_URL}{photographed.get_absolute_url()}">'
        in body
    )
