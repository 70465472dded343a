"""Django-side steps of the benchmark, run by bench/run.py in a subprocess
with ``DJANGO_SETTINGS_MODULE=bench.settings`` against the bench database:

    python -m bench.data catalogue OUT.json   1 000 products in 10 categories, with pictures
    python -m bench.data orders N OUT.txt     N unpaid orders without an attempt
                                              (their payment page paths)
    python -m bench.data payments OUT.tsv     Ligdicash attempts to send callbacks for
    python -m bench.data counts [analyze]     rows written so far (JSON on stdout), after ANALYZE
    python -m bench.data queries STATE OUT    SQL queries of one request per target
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils.text import slugify  # noqa: E402

from payments.models import Payment, PaymentEvent  # noqa: E402
from shop.images import make_thumbnail  # noqa: E402
from shop.management.commands.load_demo import picture  # noqa: E402
from shop.models import Category, Order, OrderLine, Product  # noqa: E402

CATEGORIES = [
    ("Téléphones", "telephones", "#1f6feb", "Smartphone"),
    ("Ordinateurs", "ordinateurs", "#8250df", "Portable"),
    ("Tablettes", "tablettes", "#6639ba", "Tablette"),
    ("Accessoires", "accessoires", "#2da44e", "Chargeur"),
    ("Audio", "audio", "#cf222e", "Écouteurs"),
    ("Énergie", "energie", "#bf8700", "Batterie"),
    ("Réseau & stockage", "reseau-stockage", "#0550ae", "Routeur"),
    ("TV & vidéo", "tv-video", "#953800", "Téléviseur"),
    ("Photo", "photo", "#1b7c83", "Caméra"),
    ("Maison connectée", "maison-connectee", "#57606a", "Ampoule"),
]
BRANDS = [
    "Tecno",
    "Itel",
    "Infinix",
    "Samsung",
    "Xiaomi",
    "Nokia",
    "HP",
    "Lenovo",
    "Dell",
    "Oraimo",
    "JBL",
    "Sony",
    "TP-Link",
    "Anker",
    "Hisense",
]
PER_CATEGORY = 100
# Products the cart and checkout targets buy: a stock no run can exhaust.
POOL = 85
BIG_STOCK = 10_000_000
CUSTOMER = {
    "full_name": "Awa Ouédraogo",
    "email": "awa@example.bf",
    "phone": "+22670123456",
    "country": "BF",
}


def catalogue(out: str) -> None:
    media = Path(settings.MEDIA_ROOT)
    if "bench" not in media.parts:
        raise SystemExit(f"refusing to wipe {media}: not a bench media directory")
    shutil.rmtree(media / "products", ignore_errors=True)
    rng = random.Random(1000)
    products: list[Product] = []
    with transaction.atomic():
        for position, (name, slug, colour, noun) in enumerate(CATEGORIES):
            category = Category.objects.create(name=name, slug=slug, position=position)
            # One picture and one thumbnail per category, shared by its products.
            lead = None
            for n in range(1, PER_CATEGORY + 1):
                product_name = (
                    f"{noun} {rng.choice(BRANDS)} {rng.choice('ABCDGKMSX')}{rng.randint(10, 990)}"
                )
                stock_draw = rng.random()
                stock = (
                    0
                    if stock_draw < 0.05
                    else rng.randint(1, 3)
                    if stock_draw < 0.15
                    else rng.randint(5, 200)
                )
                product = Product(
                    category=category,
                    name=product_name,
                    slug=f"{slugify(product_name)}-{position}{n:03d}",
                    description=f"{product_name} : garantie 12 mois, "
                    "livraison à Ouagadougou, Abidjan et Dakar. "
                    "Paiement Orange Money, Moov Money, Wave ou carte. " * 2,
                    price=rng.randrange(2_500, 700_000, 500),
                    stock=stock,
                )
                if lead is None:
                    product.image.save(
                        f"bench-{slug}.webp", ContentFile(picture(noun, colour)), save=False
                    )
                    product.save()
                    make_thumbnail(product)
                    lead = product
                else:
                    product.image = lead.image.name
                    product.thumbnail = lead.thumbnail.name
                    products.append(product)
        Product.objects.bulk_create(products, batch_size=500)
        pool = list(Product.objects.order_by("id").values_list("id", flat=True)[:POOL])
        Product.objects.filter(id__in=pool).update(stock=BIG_STOCK)
    analyze()
    slugs = list(Product.objects.order_by("id").values_list("slug", flat=True))
    detail = (
        Product.objects.filter(stock__gt=10, stock__lt=BIG_STOCK)
        .order_by("id")[len(slugs) // 2 :]
        .first()
    )
    state = {
        "products": len(slugs),
        "categories": Category.objects.count(),
        "pool": pool,
        "detail_slug": detail.slug,
    }
    Path(out).write_text(json.dumps(state))
    print(
        f"catalogue: {state['products']} products in {state['categories']} categories, {len(pool)} "
        f"with stock {BIG_STOCK:,}"
    )


def orders(n: int, out: str) -> None:
    """Payment page paths (``reverse("payments:pay")``, one a line) of ``n``
    unpaid orders without any attempt, for the payment start target.

    Orders the checkout target created come first; the rest are bulk-created
    (stock is not moved for those: the target measures the attempt, not the
    reservation)."""
    tokens = list(
        Order.objects.filter(status=Order.Status.PENDING_PAYMENT, payments__isnull=True)
        .order_by("id")
        .values_list("token", flat=True)[:n]
    )
    missing = n - len(tokens)
    if missing > 0:
        products = list(Product.objects.filter(stock__gte=BIG_STOCK // 2).order_by("id")[:5])
        total = sum(p.price for p in products)
        with transaction.atomic():
            new = Order.objects.bulk_create(
                [
                    Order(currency=settings.SHOP_CURRENCY, total=total, language="fr", **CUSTOMER)
                    for _ in range(missing)
                ],
                batch_size=1000,
            )
            OrderLine.objects.bulk_create(
                (
                    OrderLine(
                        order=o, product=p, product_name=p.name, unit_price=p.price, quantity=1
                    )
                    for o in new
                    for p in products
                ),
                batch_size=5000,
            )
        tokens += [o.token for o in new]
    from django.urls import reverse

    Path(out).write_text(
        "".join(reverse("payments:pay", kwargs={"token": token}) + "\n" for token in tokens)
    )
    print(
        f"orders: {len(tokens)} payment pages ({max(missing, 0)} bulk-created), e.g. "
        f"{reverse('payments:pay', kwargs={'token': tokens[0]})}"
    )


def carts(n: int, pool_json: str, csrf: str, out: str) -> None:
    """``n`` browser sessions, each holding a cart of 5 products (groups of the
    big-stock pool in turn, so concurrent checkouts take different rows).

    Sessions live on the server: a checkout empties its cart, so each
    checkout request needs its own session."""
    import secrets

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    pool = json.loads(pool_json)
    groups = [pool[5 + 5 * i : 10 + 5 * i] for i in range((len(pool) - 5) // 5)]
    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    rows = []
    for i in range(n):
        cart = {str(pid): 1 for pid in groups[i % len(groups)]}
        rows.append(
            Session(
                session_key=secrets.token_hex(16),
                session_data=store.encode({"cart": cart}),
                expire_date=expires,
            )
        )
    Session.objects.bulk_create(rows, batch_size=2000)
    Path(out).write_text(
        "".join(f"sessionid={r.session_key}; csrftoken={csrf}\t{csrf}\n" for r in rows)
    )
    print(f"carts: {n} sessions with a cart of 5 lines")


def payments(out: str) -> None:
    rows = (
        Payment.objects.filter(provider="ligdicash")
        .exclude(provider_reference="")
        .order_by("id")
        .values_list("reference", "provider_reference", "amount")[:5000]
    )
    lines = [f"{ref}\t{token}\t{amount}" for ref, token, amount in rows]
    if not lines:
        raise SystemExit("payments: no Ligdicash attempt to call back for")
    Path(out).write_text("\n".join(lines) + "\n")
    print(f"payments: {len(lines)} attempts for the callback target")


def analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them in production: the
    bench fills tables within seconds, faster than autovacuum's ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def counts() -> dict:
    callbacks = PaymentEvent.objects.filter(kind=PaymentEvent.Kind.CALLBACK)
    return {
        "orders": Order.objects.count(),
        "payments": Payment.objects.count(),
        "callbacks_new": callbacks.filter(dedup_key__isnull=False).count(),
        "callbacks_duplicate": callbacks.filter(message="duplicate delivery").count(),
        "callbacks_refused": callbacks.filter(valid=False).count(),
    }


def callback_body(reference: str, token: str, amount: int, date: str) -> bytes:
    """The callback Ligdicash documents (tests/payments/vendor_samples/ligdicash/)."""
    return json.dumps(
        {
            "date": date,
            "method": "post",
            "response_code": "00",
            "response_text": None,
            "token": token,
            "montant": str(amount),
            "status": "completed",
            "custom_data": [
                {
                    "id_invoice": 29505444,
                    "keyof_customdata": "order_id",
                    "valueof_customdata": "bench",
                },
                {
                    "id_invoice": 29505444,
                    "keyof_customdata": "transaction_id",
                    "valueof_customdata": reference,
                },
            ],
            "operator_name": "ORANGE BURKINA",
            "operator_id": "11",
            "transaction_id": reference,
            "external_id": None,
            "url": settings.SITE_URL + "/payments/callback/ligdicash/",
            "hash": "8bd5dc60ef2d75641fa311fbb44c5067e0040a17",
        }
    ).encode()


def queries(state_file: str, out: str) -> None:
    """One warm-up request, then one captured request, per target (steady
    state: the per-process category cache is filled, as in a running worker)."""
    state = json.loads(Path(state_file).read_text())
    client = Client()
    results: dict[str, dict] = {}

    def measure(
        name: str, method: str, path: str, expect: int, cookie: str | None = None, **kwargs
    ):
        def once():
            if cookie:
                client.cookies["sessionid"] = cookie
            return getattr(client, method)(path, **kwargs)

        if name not in ("checkout", "pay", "callback_new", "callback_dup"):
            once()
        with CaptureQueriesContext(connection) as ctx:
            response = once()
        sql = [q["sql"] for q in ctx.captured_queries]
        # Django (4.2+) logs BEGIN/COMMIT/ROLLBACK and savepoints too, and
        # assertNumQueries counts them.
        tx = sum(
            1
            for q in sql
            if q.split(" ", 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
        )
        results[name] = {
            "status": response.status_code,
            "expected": expect,
            "queries": len(sql),
            "transaction_control": tx,
            "sql": sql,
        }
        if response.status_code != expect:
            print(
                f"queries: {name} answered {response.status_code}, expected {expect}",
                file=sys.stderr,
            )
        return response

    measure("hello", "get", "/bench/hello/", 200)
    measure("home", "get", "/", 200)
    measure("list", "get", "/produits/", 200)
    measure("list_later", "get", f"/produits/?page={state['later_page']}", 200)
    measure("detail", "get", f"/produit/{state['detail_slug']}/", 200)
    measure("cart", "get", "/panier/", 200, cookie=state["cart_session"])
    form = {
        "full_name": "Awa Ouédraogo",
        "email": "awa@example.bf",
        "country": "BF",
        "phone": "70 12 34 56",
        "address": "Ouagadougou",
    }
    client.cookies["sessionid"] = state["checkout_sessions"][0]
    warm = client.post(
        "/commande/", {**form, "checkout_key": f"bench-queries-warm-{uuid.uuid4().hex}"}
    )
    client.post(
        warm.headers.get("Location", "/"), {"choice": "ligdicash:hosted"}
    )  # warm-up of the payment start
    response = measure(
        "checkout",
        "post",
        "/commande/",
        302,
        cookie=state["checkout_sessions"][1],
        data={**form, "checkout_key": f"bench-queries-{uuid.uuid4().hex}"},
    )
    pay_path = response.headers.get("Location", "")
    measure("pay", "post", pay_path, 302, data={"choice": "ligdicash:hosted"})
    payment = Payment.objects.filter(order__token=pay_path.rstrip("/").rsplit("/", 1)[-1]).first()
    if payment is None:
        print("queries: the payment start created no payment", file=sys.stderr)
    else:
        body = callback_body(
            str(payment.reference),
            payment.provider_reference,
            payment.amount,
            "2023-10-29 09:46:27+00",
        )
        # Ligdicash's event id is the reference plus the status: the warm-up
        # says "pending", so the measured "completed" is a new delivery and its
        # replay a duplicate. A webhook carries no cookie.
        warm = callback_body(
            str(payment.reference),
            payment.provider_reference,
            payment.amount,
            "2023-10-29 09:46:26+00",
        ).replace(b'"completed"', b'"pending"')
        client.cookies.clear()
        client.post("/payments/callback/ligdicash/", warm, content_type="application/json")
        measure(
            "callback_new",
            "post",
            "/payments/callback/ligdicash/",
            200,
            data=body,
            content_type="application/json",
        )
        measure(
            "callback_dup",
            "post",
            "/payments/callback/ligdicash/",
            200,
            data=body,
            content_type="application/json",
        )
    Path(out).write_text(json.dumps(results, indent=1))
    print("queries: " + ", ".join(f"{k}={v['queries']}" for k, v in results.items()))


def main(argv: list[str]) -> None:
    step, args = argv[0], argv[1:]
    if step == "catalogue":
        catalogue(*args)
    elif step == "orders":
        orders(int(args[0]), args[1])
    elif step == "payments":
        payments(*args)
    elif step == "carts":
        carts(int(args[0]), args[1], args[2], args[3])
    elif step == "counts":
        if "analyze" in args:
            analyze()
        print(json.dumps(counts()))
    elif step == "queries":
        queries(*args)
    else:
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
