"""Product photos outside the request (review 2026-12-03 G-11): the pixel cap
is read from the header before anything is decoded, with a French message;
Pillow's bomb limit is set explicitly; the copies are made by a Celery task,
so the admin answers without decoding."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shop import images
from shop.models import Product
from tests.support.factories import make_product, wait_for
from tests.support.shop import find_form

pytestmark = pytest.mark.django_db


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares ``width`` × ``height`` (the review's 20 KB bomb):
    a valid signature and IHDR, one small IDAT, no real pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def real_png(width: int = 1600, height: int = 1200) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def change_url(product: Product) -> str:
    return reverse("admin:shop_product_change", args=[product.pk])


def upload(admin_client, product: Product, content: bytes, name: str = "photo.png"):
    form = find_form(admin_client.get(change_url(product)), change_url(product))
    data = dict(form.data())
    data["image"] = SimpleUploadedFile(name, content, content_type="image/png")
    return admin_client.post(change_url(product), data)


def test_pillow_s_bomb_limit_is_the_shop_s_cap():
    assert Image.MAX_IMAGE_PIXELS == settings.PRODUCT_IMAGE_MAX_PIXELS == 40_000_000


@pytest.mark.parametrize(
    ("width", "height", "shown"),
    [
        (13_000, 13_000, "au plus 40 millions"),  # the review's 169 MP bomb: Pillow's error
        (8_000, 6_000, "8000 × 6000 pixels"),  # 48 MP: above the cap, under Pillow's error
    ],
)
def test_a_picture_above_the_pixel_cap_is_refused_from_its_header(
    admin_client, width, height, shown
):
    product = make_product()

    response = upload(admin_client, product, png_header_only(width, height))

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["image"])
    assert "Image trop grande" in errors and shown in errors
    assert "40 millions de pixels" in errors
    assert not Product.objects.get(pk=product.pk).image


def test_the_admin_answers_without_decoding_and_a_task_makes_the_copies(
    admin_client, django_capture_on_commit_callbacks
):
    product = make_product()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = upload(admin_client, product, real_png())

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.image and not product.thumbnail and product.renditions == [], (
        "nothing decoded in the request"
    )
    assert [f for f in queued if f.__qualname__.startswith("images_after_upload")]

    assert images.make_product_images(product.pk, product.image.name) is True

    product.refresh_from_db()
    assert product.thumbnail
    assert [r["width"] for r in product.renditions] == [200, 300, 400, 640, 960]


def test_a_task_for_a_photo_replaced_since_does_nothing():
    product = make_product(image=SimpleUploadedFile("a.png", real_png(400, 300)))

    assert images.make_product_images(product.pk, "products/an-older-photo.png") is False
    assert images.make_product_images(product.pk + 10_000, product.image.name) is False
    assert Product.objects.get(pk=product.pk).renditions == []


@pytest.mark.django_db(transaction=True)
def test_the_worker_makes_the_copies_after_the_admin_saved(admin_client, worker):
    product = make_product()

    response = upload(admin_client, product, real_png(800, 600))

    assert response.status_code == 302
    wait_for(lambda: Product.objects.get(pk=product.pk).renditions, timeout=30)
    assert Product.objects.get(pk=product.pk).thumbnail
