"""Phone-sized copies of a product photo, made once on upload.

A 4000×3000 phone photo is 3 MB; a shopper on a 360 px screen needs about
640 px of it. On upload (admin, load_demo) we make:

* a 240 px square-bounded WebP thumbnail for the product grids;
* WebP renditions 320, 640 and 960 px wide (never wider than the original)
  for the product page's ``srcset``, with their sizes recorded on the product
  so the page sets ``width``/``height`` and never shifts.

The original file is kept for staff; no shopper page links to it.
"""

from io import BytesIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

THUMB_SIZE = (240, 240)
RENDITION_WIDTHS = (320, 640, 960)
RENDITION_QUALITY = 55


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
