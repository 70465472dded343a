"""Phone-sized copies of a product photo, made once on upload.

A 4000×3000 phone photo is 3 MB; a shopper on a 360 px screen needs about
640 px of it. On upload (admin, load_demo) we make:

* a 240 px square-bounded WebP thumbnail (kept for products made before
  renditions existed);
* WebP renditions 200, 300, 400, 640 and 960 px wide (never wider than the
  original), with their sizes recorded on the product so a page sets
  ``width``/``height`` and never shifts. Grid cards use 200/300/400 (a card
  is 147 CSS px wide on a 360 px phone: 300 px at DPR 2, about 16 KB for a
  detailed photo, where the 640 px copy was 46 KB — UX review 2026-12-03,
  U-01); the product page uses them all.

The original file is kept for staff; no shopper page links to it.

A photo is a decompression bomb waiting to happen: a 20 KB PNG can declare
13 000 × 13 000 pixels and take a gigabyte to decode. So:

* Pillow's own limit is set explicitly (``Image.MAX_IMAGE_PIXELS`` =
  ``PRODUCT_IMAGE_MAX_PIXELS``: a warning above it, an error at twice it);
* the admin's upload field (``CappedImageField``) reads the size from the
  file's header, before anything is decoded, and refuses a picture above the
  cap with a French message saying the limit;
* the copies are made by a Celery task (``make_product_images`` here, found
  by the worker through ``ashtech_store.celery``),
  so the admin answers at once and a decode happens in a worker, never in a
  web process.
"""

import logging
from io import BytesIO

from celery import shared_task
from django import forms
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from ashtech_store.task_retry import RETRY

Image.MAX_IMAGE_PIXELS = settings.PRODUCT_IMAGE_MAX_PIXELS
logger = logging.getLogger(__name__)

THUMB_SIZE = (240, 240)
RENDITION_WIDTHS = (200, 300, 400, 640, 960)
RENDITION_QUALITY = 55


def header_size(file) -> tuple[int, int] | None:
    """(width, height) read from the image's header, nothing decoded; None
    when the declared size is beyond even Pillow's hard limit."""
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        with Image.open(file) as picture:
            return picture.size
    except Image.DecompressionBombError:
        return None
    finally:
        file.seek(position)


class CappedImageField(forms.ImageField):
    """An image upload refused above ``PRODUCT_IMAGE_MAX_PIXELS``, checked on
    the header before Django's own validation opens the picture."""

    def to_python(self, data):
        if data and hasattr(data, "read"):
            self._check_pixels(data)
        return super().to_python(data)

    @staticmethod
    def _check_pixels(data) -> None:
        limit = settings.PRODUCT_IMAGE_MAX_PIXELS
        try:
            size = header_size(data)
        except Exception:  # not an image: Django's own message says so
            return
        if size is not None and size[0] * size[1] <= limit:
            return
        megapixels = {"max": f"{limit / 1_000_000:g}"}
        if size is None:
            message = _(
                "Image trop grande : au plus %(max)s millions de pixels. Réduisez-la avant de "
                "l'envoyer."
            )
        else:
            megapixels.update(width=size[0], height=size[1])
            message = _(
                "Image trop grande : %(width)s × %(height)s pixels, au plus %(max)s millions de "
                "pixels. Réduisez-la avant de l'envoyer."
            )
        raise forms.ValidationError(message % megapixels, code="too_many_pixels")


def images_after_upload(request, product) -> None:
    """After the admin saved a new photo: queue its copies once the row is
    committed (the worker reads the committed file name) and tell staff; a
    photo removed takes its copies with it at once."""
    from django.contrib import messages
    from django.db import transaction

    if not product.image:
        _forget_copies(product)
        return
    image_name = product.image.name

    def enqueue():
        try:
            make_product_images.delay(product.pk, image_name)
        except Exception:  # broker down: the photo is saved, its copies wait
            logger.exception("could not queue the renditions of product %s", product.pk)

    transaction.on_commit(enqueue)
    messages.info(
        request,
        _("Photo enregistrée ; ses versions pour téléphone sont préparées en arrière-plan."),
    )


def _forget_copies(product) -> None:
    if product.thumbnail:
        product.thumbnail.delete(save=False)
    for rendition in product.renditions or []:
        if isinstance(rendition, dict) and rendition.get("name"):
            default_storage.delete(rendition["name"])
    product.renditions = []
    type(product).objects.filter(pk=product.pk).update(thumbnail="", renditions=[])


@shared_task(acks_late=True, **RETRY)
def make_product_images(product_id: int, image_name: str) -> bool:
    """Celery task (ids only): make the copies of a product's photo if it is still ``image_name``
    (a newer upload has its own task). Idempotent: a redelivery remakes the
    same files. False when there was nothing to do."""
    from .models import Product

    product = Product.objects.filter(pk=product_id).first()
    if product is None or not product.image or product.image.name != image_name:
        return False
    make_thumbnail(product)
    return True


def make_thumbnail(product) -> None:
    """Make the grid thumbnail and the product-page renditions of ``product.image``."""
    if not product.image:
        return
    with product.image.open("rb") as handle, Image.open(handle) as picture:
        picture = ImageOps.exif_transpose(picture).convert("RGB")
        renditions = _renditions(product.slug, picture)
        picture.thumbnail(THUMB_SIZE)
        out = BytesIO()
        picture.save(out, "WEBP", quality=60, method=6)
    name = f"{product.slug}.webp"
    if product.thumbnail:
        product.thumbnail.delete(save=False)
    product.thumbnail.save(name, ContentFile(out.getvalue()), save=False)
    product.renditions = renditions
    type(product).objects.filter(pk=product.pk).update(
        thumbnail=product.thumbnail.name, renditions=renditions
    )


def _renditions(slug: str, picture: Image.Image) -> list[dict]:
    widths = [w for w in RENDITION_WIDTHS if w < picture.width] + [
        min(picture.width, RENDITION_WIDTHS[-1])
    ]
    made = []
    for width in sorted(set(widths)):
        height = round(picture.height * width / picture.width)
        copy = picture.resize((width, height), Image.Resampling.LANCZOS)
        out = BytesIO()
        copy.save(out, "WEBP", quality=RENDITION_QUALITY, method=6)
        name = f"products/renditions/{slug}-{width}.webp"
        if default_storage.exists(name):
            default_storage.delete(name)
        saved = default_storage.save(name, ContentFile(out.getvalue()))
        made.append({"width": width, "height": height, "name": saved})
    return made
