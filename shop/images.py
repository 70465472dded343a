"""Phone-sized thumbnails (WebP, 240 px) so a list page stays light."""

from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

THUMB_SIZE = (240, 240)


def make_thumbnail(product) -> None:
    if not product.image:
        return
    with product.image.open("rb") as handle, Image.open(handle) as picture:
        picture = ImageOps.exif_transpose(picture).convert("RGB")
        picture.thumbnail(THUMB_SIZE)
        out = BytesIO()
        picture.save(out, "WEBP", quality=60, method=6)
    name = f"{product.slug}.webp"
    if product.thumbnail:
        product.thumbnail.delete(save=False)
    product.thumbnail.save(name, ContentFile(out.getvalue()), save=False)
    type(product).objects.filter(pk=product.pk).update(thumbnail=product.thumbnail.name)
