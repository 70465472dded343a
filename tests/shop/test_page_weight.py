"""Page weight on a phone: home and the product list with 24 pictured
products stay under 60 KB transferred on a first load, gzip on, images
included.

What a first visit downloads is summed: the HTML as the server sends it
with ``Accept-Encoding: gzip``, every stylesheet and script the page links
(gzip-compressed the way the HTML is), and every picture a first load
fetches, read from the media storage byte for byte (WebP is already
compressed): the first row's cards, in the rendition a 360 px DPR-2 phone
picks from their ``srcset`` (the one at least 294 px wide). The cards below
wait for shop.js (``img.later``, a ``noscript`` copy without JS); the real
photos in Chromium are measured by tests/browser/test_issue17.py.
"""

from __future__ import annotations

import functools
import gzip
from io import BytesIO

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.text import compress_string
from PIL import Image, ImageDraw

from shop.images import make_thumbnail
from tests.support.factories import make_category, make_product
from tests.support.shop import parse_page

pytestmark = pytest.mark.django_db

BUDGET = 60_000


@functools.cache
def product_photo(n: int) -> bytes:
    """An 800×600 JPEG product shot: gradient backdrop, a device, a label."""
    size = (800, 600)
    backdrop = Image.linear_gradient("L").resize(size)
    photo = Image.merge(
        "RGB",
        [
            backdrop.point(lambda v: 200 + v // 5),
            backdrop.point(lambda v: 210 + v // 6),
            Image.new("L", size, 235),
        ],
    )
    draw = ImageDraw.Draw(photo)
    colour = ((n * 47) % 256, 80, 160)
    draw.rounded_rectangle((200, 60, 600, 540), radius=40, fill=colour)
    draw.rounded_rectangle((240, 110, 560, 470), radius=14, fill=(220, 225, 230))
    draw.ellipse((375, 485, 425, 525), fill=(250, 250, 250))
    draw.text((400, 290), f"Modèle {n}", fill=colour, anchor="mm", font_size=44)
    out = BytesIO()
    photo.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def pictured_catalogue(media):
    category = make_category("Téléphones")
    for n in range(24):
        product = make_product(
            name=f"Smartphone modèle {n} double SIM 128 Go",
            category=category,
            stock=n % 5,
            description="Écran 6,6 pouces. " * 20,
        )
        product.image.save(f"photo-{n}.jpg", ContentFile(product_photo(n % 6)), save=True)
        make_thumbnail(product)
    return category


def transferred(client, url: str) -> tuple[int, list[str]]:
    """Bytes a first visit to ``url`` downloads, and the problems found."""
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    page = parse_page(gzip.decompress(response.content))
    total, problems = len(response.content), []
    for href in page.stylesheets + [src for src in page.scripts if src]:
        path = finders.find(href.removeprefix(settings.STATIC_URL))
        assert path, f"{href} not found"
        with open(path, "rb") as handle:
            total += len(compress_string(handle.read()))
    assert page.images, f"no image on {url}"
    later = later_of(page.images)
    first_load = [img for img in page.images if not img.get("data-src")]
    first_load = [img for img in first_load if img.get("src") not in later]  # noscript copies
    if len(first_load) > 2:
        problems.append(f"{len(first_load)} pictures on a first load (the first row is 2)")
    for img in page.images:
        if not (img.get("width") or "").isdigit() or not (img.get("height") or "").isdigit():
            problems.append(f"{img.get('src')}: no explicit width and height")
    for img in first_load:
        src = phone_pick(img)
        assert src.startswith(settings.MEDIA_URL), src
        total += default_storage.size(src.removeprefix(settings.MEDIA_URL))
    return total, problems


def later_of(images: list[dict]) -> set[str]:
    """The pictures shop.js loads later (their noscript copies share the address)."""
    return {img["data-src"] for img in images if img.get("data-src")}


def phone_pick(img: dict) -> str:
    """The ``srcset`` candidate a 147 CSS px card on a DPR-2 phone fetches."""
    candidates = [
        (int(width.removesuffix("w")), url)
        for url, width in (c.split() for c in (img.get("srcset") or "").split(", ") if c)
    ]
    wide = sorted(c for c in candidates if c[0] >= 294) or sorted(candidates, reverse=True)
    return wide[0][1] if wide else img["src"]


@pytest.mark.parametrize("page", ["shop:home", "shop:products"])
def test_page_with_24_pictured_products_weighs_under_60_kb(client, pictured_catalogue, page):
    url = reverse(page)
    total, problems = transferred(client, url)

    assert problems == []
    assert total <= BUDGET, f"{url}: {total} bytes"


def test_list_shows_small_webp_thumbnails_not_the_full_photos(client, pictured_catalogue):
    response = client.get(reverse("shop:products"))

    images = parse_page(response.content).images
    sources = [
        img.get("data-src") or img["src"] for img in images if img["src"] not in later_of(images)
    ]
    assert len(sources) == 24
    # The 200 px card rendition (300 and 400 in its srcset) where the product has one.
    assert all(
        ("/thumbs/" in src or src.endswith("-200.webp")) and src.endswith(".webp")
        for src in sources
    )
    product = pictured_catalogue.products.first()
    with default_storage.open(product.thumbnail.name) as handle, Image.open(handle) as picture:
        assert picture.format == "WEBP"
        assert max(picture.size) <= 240
    assert product.thumbnail.size < product.image.size / 10
