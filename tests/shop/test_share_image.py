"""Product pictures for link previews, and French typography that holds on a phone."""

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from shop.images import make_thumbnail
from tests.support.factories import make_product

pytestmark = pytest.mark.django_db


def small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_product_with_a_thumbnail_but_no_renditions_shares_its_thumbnail(client, settings):
    product = make_product(name="Ancienne photo")
    product.image.save("old.jpg", ContentFile(small_jpeg()), save=True)
    make_thumbnail(product)
    product.refresh_from_db()
    type(product).objects.filter(pk=product.pk).update(renditions=[])
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert f'<meta property="og:image" content="{settings.SITE_URL}{settings.MEDIA_URL}' in body


def test_search_title_keeps_the_guillemets_with_their_word(client):
    make_product(name="Écouteurs sans fil")
    body = client.get("/produits/?q=ecouteurs").content.decode()
    assert "Résultats pour «\u00a0ecouteurs\u00a0»" in body, "no line break between « and the word"


def test_the_order_page_link_reads_track_in_english(client):
    from django.utils import translation

    with translation.override("en"):
        assert translation.gettext("suivre") == "track"
