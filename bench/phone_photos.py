"""Pages with real photos on a cheap phone over slow 3G: the UX review's method
(2026-12-03, §1), for the grids once staff upload real 4000×3000 photos.

Headless Chromium (Debian's) driven by Playwright: 360×740 CSS px, DPR 2,
mobile, touch, an Android user agent; CDP throttling 400 ms latency,
400 kbit/s down and up (kbit = 1024 bit), CPU slowed 4×. Each load is cold (a
fresh context). Bytes are CDP ``encodedDataLength`` (headers included),
counted until the network is idle (and still idle 3 s later), **without scrolling** (a first load);
KB = 1000 bytes. FCP from the paint timeline, LCP the last
``largest-contentful-paint`` entry. Medians of ``--runs`` loads.

Usage, against a running shop (``make run`` or any server):

    python bench/phone_photos.py prepare [--photo board.jpg] [--count 24]
    python bench/phone_photos.py measure --base http://127.0.0.1:8000 [--runs 3]

``prepare`` runs inside the project (DATABASE_URL / DEBUG as for manage.py):
it makes a 4000×3000 JPEG (from ``--photo``, cropped to 4:3, upscaled, with
σ=6 noise, q92, as the review did; else a synthetic one) and gives it to the
``--count`` newest products, as an upload through the admin would.
``measure`` only talks HTTP and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from io import BytesIO
from pathlib import Path

from phone import CHROMIUM, PHONE, real_photo  # noqa: E402  (bench/ is the script's folder)

SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * 1024 / 8,
    "uploadThroughput": 400 * 1024 / 8,
}
LCP = """() => new Promise(done => {
  let last = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) last = e.startTime; })
    .observe({type: 'largest-contentful-paint', buffered: true});
  setTimeout(() => done(last), 50);
})"""


def review_photo(source: str | None) -> bytes:
    """The review's photo: ``source`` cropped to 4:3, 4000×3000, σ=6 noise, JPEG q92."""
    if not source:
        return real_photo()
    from PIL import Image, ImageChops

    with Image.open(source) as original:
        picture = original.convert("RGB")
    width, height = picture.size
    crop = round(height * 4 / 3)
    left = (width - crop) // 2
    picture = picture.crop((left, 0, left + crop, height)).resize(
        (4000, 3000), Image.Resampling.LANCZOS
    )
    noise = Image.merge("RGB", [Image.effect_noise((4000, 3000), 6) for _ in range(3)])
    picture = ImageChops.add(picture, noise, 1, -128)
    out = BytesIO()
    picture.save(out, "JPEG", quality=92)
    return out.getvalue()


def prepare(source: str | None, count: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ashtech_store.settings")
    import django

    django.setup()
    from django.core.files.base import ContentFile

    from shop.fragments import bump_catalogue
    from shop.images import make_thumbnail
    from shop.models import Product

    data = review_photo(source)
    for product in Product.objects.available().order_by("-created_at", "-id")[:count]:
        product.image.save(f"{product.slug}-photo.jpg", ContentFile(data), save=True)
        make_thumbnail(product)
    bump_catalogue()
    print(f"{count} products: a {len(data) // 1000} KB 4000×3000 JPEG each")


def _load(browser, url: str) -> dict:
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
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
        page.goto(url, wait_until="networkidle", timeout=180_000)
        # Lazy images start after layout, which a 4× slower CPU can push past
        # the first idle moment: wait for a quiet network again.
        page.wait_for_timeout(3000)
        page.wait_for_load_state("networkidle", timeout=180_000)
        fcp = page.evaluate(
            "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0"
        )
        return {
            "bytes": sum(sizes.values()),
            "requests": len(sizes),
            "fcp": fcp,
            "lcp": page.evaluate(LCP),
            "width": page.evaluate("document.documentElement.scrollWidth"),
        }
    finally:
        context.close()


def measure(base: str, runs: int, paths: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        print("| Page | KB | Req | FCP ms | LCP ms | Width at 360 |")
        print("|---|---:|---:|---:|---:|---:|")
        for path in paths:
            results = [_load(browser, base + path) for _ in range(runs)]
            print(
                f"| `{path}` | {statistics.median(r['bytes'] for r in results) / 1000:.1f} | "
                f"{statistics.median(r['requests'] for r in results):.0f} | "
                f"{statistics.median(r['fcp'] for r in results):.0f} | "
                f"{statistics.median(r['lcp'] for r in results):.0f} | "
                f"{max(r['width'] for r in results)} |",
                flush=True,
            )
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--photo", help="a real photograph to upscale (the review used a 720×477 one)")
    p.add_argument("--count", type=int, default=24)
    m = sub.add_parser("measure")
    m.add_argument("--base", default="http://127.0.0.1:8000")
    m.add_argument("--runs", type=int, default=3)
    m.add_argument("paths", nargs="*", default=["/", "/produits/", "/categorie/telephones/"])
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.photo, args.count)
    else:
        measure(args.base.rstrip("/"), args.runs, args.paths)


if __name__ == "__main__":
    main()
