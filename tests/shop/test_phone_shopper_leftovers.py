"""Issue 12's leftovers: the wallet number only when the offer needs one,
French plurals, English dates, the product page's sticky buy bar, sharp grid
thumbnails, and phones caching /media/."""

from __future__ import annotations

import datetime
import re
from io import BytesIO

import pytest
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import formats, translation
from PIL import Image

from ashtech_store import urls as project_urls
from shop.images import make_thumbnail
from tests.support.factories import make_order, make_payment, make_product

pytestmark = pytest.mark.django_db


# --- the wallet number field --------------------------------------------------------
def test_pay_page_marks_the_offers_that_need_a_wallet_number_and_shows_the_field_without_js(client):
    order = make_order(country="BF", phone="+22670123456")

    body = client.get(reverse("payments:pay", args=[order.token])).content.decode()

    radios = re.findall(r'<input type="radio" name="choice" value="([^"]+)"([^>]*)>', body)
    needs = {value for value, attrs in radios if "data-needs-phone" in attrs}
    assert needs and needs != {value for value, _ in radios}, (
        "some offers need a number, some do not"
    )
    # Without JS the field is there and visible; shop.js hides it for the others.
    field = re.search(r'<div class="field" id="payer-phone-field"([^>]*)>', body)
    assert field and "hidden" not in field.group(1)
    script = open(finders.find("js/shop.js"), encoding="utf-8").read()
    assert "payer-phone-field" in script and "data-needs-phone" in script
    assert (
        "[hidden]{display:none!important}"
        in open(finders.find("css/shop.css"), encoding="utf-8").read()
    )


# --- French plurals ---------------------------------------------------------------------
COUNT = (
    "{% load i18n %}{% blocktranslate count n=n %}{{ n }} produit{% plural %}{{ n }} produits{% "
    "endblocktranslate %}"
)


@pytest.mark.parametrize(
    ("language", "n", "shown"),
    [
        ("fr", 0, "0 produit"),
        ("fr", 1, "1 produit"),
        ("fr", 2, "2 produits"),
        ("en", 0, "0 products"),
        ("en", 1, "1 product"),
        ("en", 2, "2 products"),
    ],
)
def test_counts_follow_each_languages_plural_rule(language, n, shown):
    with translation.override(language):
        assert Template(COUNT).render(Context({"n": n})) == shown


def test_an_empty_search_says_0_produit(client):
    body = client.get(reverse("shop:products"), {"q": "introuvable"}).content.decode()

    assert '<p class="count">0 produit</p>' in body


def test_the_cart_count_for_screen_readers_is_singular_at_zero(client):
    assert (
        '<span class="sr">(0 article)</span>' in client.get(reverse("shop:home")).content.decode()
    )


# --- dates ------------------------------------------------------------------------------
def test_english_dates_are_day_first():
    moment = datetime.datetime(2026, 11, 29, 18, 51)
    with translation.override("en"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "29/11/2026 18:51"
        assert formats.date_format(moment, "SHORT_DATE_FORMAT") == "29/11/2026"
    with translation.override("fr"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "29/11/2026 18:51"


def test_order_page_in_english_shows_the_attempt_date_day_first(client):
    order = make_order()
    make_payment(order)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    body = client.get(order.get_absolute_url()).content.decode()

    assert re.search(r"<li>\d{2}/\d{2}/\d{4} \d{2}:\d{2} — ", body), body[
        body.find('class="payments"') :
    ][:300]


# --- sticky "Ajouter au panier" on the product page -----------------------------------
def test_the_add_to_cart_form_is_a_sticky_bar_of_the_product_article(client):
    product = make_product(stock=4)

    body = client.get(product.get_absolute_url()).content.decode()
    css = open(finders.find("css/shop.css"), encoding="utf-8").read()

    article = body[body.index('<article class="product">') : body.index("</article>")]
    # A direct child of the article (not of a column), so it can stick from the first screen.
    assert re.search(r'\n  <form action="[^"]+" method="post" class="add buy-bar"', article)
    assert re.search(r"\.buy-bar\{position:sticky;bottom:0", css)
    assert "Ajouter au panier" in article


def test_no_buy_bar_when_out_of_stock(client):
    product = make_product(stock=0)

    assert "buy-bar" not in client.get(product.get_absolute_url()).content.decode()


# --- grid cards sized for the card (200/300/400 px) ------------------------------------
def photo(width: int, height: int) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 90, 30)).save(out, "JPEG")
    return out.getvalue()


def test_grid_cards_use_the_card_renditions_with_a_srcset(client):
    product = make_product(name="Tecno Spark 20", stock=5)
    product.image.save("tecno-grid.jpg", ContentFile(photo(1200, 900)), save=True)
    make_thumbnail(product)

    body = client.get(reverse("shop:products")).content.decode()

    img = re.search(r'<li class="card">\s*<a [^>]*>\s*(<img [^>]*>)', body).group(1)
    assert re.search(rf'src="/media/products/renditions/{product.slug}[^"]*-200\.webp"', img)
    assert re.search(
        r'srcset="[^"]*-200\.webp 200w, [^"]*-300\.webp 300w, [^"]*-400\.webp 400w"', img
    )
    assert "640w" not in img and 'sizes="(min-width: 1100px) 246px' in img
    assert 'width="200" height="150"' in img


def test_grid_cards_without_renditions_keep_the_thumbnail(client):
    product = make_product(name="Clé USB", stock=5)
    product.thumbnail.save("cle.webp", ContentFile(b"RIFF0000WEBP"), save=True)

    body = client.get(reverse("shop:products")).content.decode()

    assert re.search(
        r'<img src="/media/products/thumbs/cle[^"]*\.webp" alt="" width="240" height="240"', body
    )
    assert "srcset" not in body[body.index('<ul class="grid">') :]


def test_a_new_photo_shows_in_the_cached_grid_at_once(client, django_capture_on_commit_callbacks):
    product = make_product(name="Routeur 4G", stock=5)
    assert "renditions" not in client.get(reverse("shop:products")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        product.image.save("routeur.jpg", ContentFile(photo(800, 800)), save=True)
        make_thumbnail(product)

    assert f"renditions/{product.slug}" in client.get(reverse("shop:products")).content.decode()


# --- /media/ cached by phones --------------------------------------------------------------
def test_media_served_by_django_carries_a_max_age(tmp_path):
    (tmp_path / "p.webp").write_bytes(b"RIFF0000WEBP")

    response = project_urls.serve_media(
        RequestFactory().get("/media/p.webp"), path="p.webp", document_root=str(tmp_path)
    )

    assert response.status_code == 200
    assert "max-age=86400" in response["Cache-Control"] and "public" in response["Cache-Control"]
