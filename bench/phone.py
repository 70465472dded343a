"""Page weight and first paint on a cheap phone over slow 3G (the UX review's method).

Headless Chromium (Debian's) driven by Playwright: 360×740 CSS px, DPR 2,
mobile, touch; CDP throttling 400 ms latency, 400 kbit/s down and up, CPU
slowed 4×. Each load is cold (a fresh context, empty HTTP cache). Bytes are
everything on the wire (``encodedDataLength``) until the network is idle,
lazy images included; FCP is the browser's ``first-contentful-paint``.

Usage, against a running shop (``make run`` or any server):

    python bench/phone.py prepare            # attach a real 4000×3000 photo to a product (Django
    setup)
    python bench/phone.py measure --base http://127.0.0.1:8000 --product tecno-spark-20 [--runs 3]

``prepare`` runs inside the project (it needs DATABASE_URL / DEBUG like
manage.py); ``measure`` only talks HTTP. The table is printed as Markdown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from io import BytesIO
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 12; itel A70) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Mobile Safari/537.36"
    ),
    "locale": "fr-FR",
}
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * 1000 / 8,
    "uploadThroughput": 400 * 1000 / 8,
}


def real_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A photo-like JPEG (noise and gradients compress like a camera shot)."""
    from PIL import Image, ImageDraw, ImageFilter

    noise = Image.effect_noise((width // 4, height // 4), 60).resize((width, height))
    backdrop = Image.linear_gradient("L").resize((width, height))
    photo = Image.merge("RGB", [backdrop, noise, Image.eval(backdrop, lambda v: 255 - v)])
    draw = ImageDraw.Draw(photo)
    draw.rounded_rectangle(
        (width // 4, height // 8, 3 * width // 4, 7 * height // 8), radius=120, fill=(30, 30, 40)
    )
    draw.rounded_rectangle(
        (width // 4 + 80, height // 8 + 160, 3 * width // 4 - 80, 7 * height // 8 - 220),
        radius=40,
        fill=(90, 140, 220),
    )
    photo = Image.blend(photo, Image.effect_noise((width, height), 40).convert("RGB"), 0.15).filter(
        ImageFilter.SMOOTH
    )
    out = BytesIO()
    photo.save(out, "JPEG", quality=88)
    return out.getvalue()


def prepare(slug: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ashtech_store.settings")
    import django

    django.setup()
    from django.core.files.base import ContentFile

    from shop.fragments import bump_catalogue
    from shop.images import make_thumbnail
    from shop.models import Product

    product = Product.objects.get(slug=slug)
    data = real_photo()
    product.image.save(f"{slug}-photo.jpg", ContentFile(data), save=True)
    make_thumbnail(product)
    bump_catalogue()
    print(f"{slug}: a {len(data) // 1024} KB 4000×3000 JPEG attached")


def _load(browser, url: str, setup=None) -> dict:
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        if setup:
            setup(page)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        sizes: dict[str, float] = {}
        cdp.on(
            "Network.loadingFinished",
            lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]),
        )
        page.goto(url, wait_until="networkidle", timeout=120_000)
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        fcp = page.evaluate(
            "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0"
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        return {"bytes": sum(sizes.values()), "requests": len(sizes), "fcp": fcp, "width": width}
    finally:
        context.close()


def measure(base: str, product: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    def with_cart(page):
        page.goto(f"{base}/produit/{product}/")
        page.locator("form.add button[type=submit]").first.click()
        page.wait_for_url("**/panier/")

    pages = [
        ("Home `/`", f"{base}/", None),
        ("Product list `/produits/`", f"{base}/produits/", None),
        ("Product with a 4000×3000 photo", f"{base}/produit/{product}/", None),
        ("Cart (1 line)", f"{base}/panier/", with_cart),
        ("Checkout form", f"{base}/commande/", with_cart),
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        print("| Page | bytes | requests | FCP | page width |")
        print("|---|---:|---:|---:|---:|")
        for label, url, setup in pages:
            results = [_load(browser, url, setup) for _ in range(runs)]
            size = statistics.median(r["bytes"] for r in results)
            fcp = statistics.median(r["fcp"] for r in results)
            print(
                f"| {label} | {size / 1024:.1f} KB | {results[0]['requests']} | {fcp:.0f} ms | "
                f"{results[0]['width']} px |"
            )
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--product", default="tecno-spark-20")
    m = sub.add_parser("measure")
    m.add_argument("--base", default="http://127.0.0.1:8000")
    m.add_argument("--product", default="tecno-spark-20")
    m.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.product)
    else:
        measure(args.base.rstrip("/"), args.product, args.runs)


if __name__ == "__main__":
    main()
