"""The whole purchase under load (issue 20, items 1 and 4).

N shoppers at once each go product page → add to cart → checkout page →
checkout → "Payer" over HTTP against real gunicorn processes; a local
provider stub (Ligdicash's wire format) answers create and status, and sends
its callback a moment after each payment, as the vendor does; real Celery
workers act on it. Then the invariants: every order paid or released, no
payment left pending, no oversell, one confirmation e-mail per paid order.

Used two ways:

* ``BENCH_ONLY=purchase make bench`` (``main()``): gunicorn as the Dockerfile
  runs it, two Celery workers split as in docker-compose.yml (one with the
  beat), PostgreSQL, Redis; reports orders per minute, p50/p95/p99 per step,
  callback-to-paid p95 and CPU ms per completed order (app, worker,
  database) in ``bench/results/purchase-latest.md``; then the flash sale
  (``BENCH_FLASH_SHOPPERS`` shoppers for the last ``BENCH_FLASH_UNITS``).
  ``BENCH_SHOPPERS`` (32) and ``BENCH_CALLBACK_DELAY`` (1.0 s) set the load.
* ``tests/test_two_of_everything.py``: two gunicorns, two workers, one
  PostgreSQL, a dozen shoppers (the pieces below, inside pytest).
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

STEPS = ("product", "cart_add", "checkout_page", "checkout", "payment_start")
CREATE_PATHS = (
    "/pay/v01/redirect/checkout-invoice/create",
    "/pay/v01/straight/checkout-invoice/create",
)
CONFIRM_PATH = "/pay/v01/redirect/checkout-invoice/confirm/"


# --- the provider stub ---------------------------------------------------------------
class ProviderStub:
    """Ligdicash at the HTTP boundary: create answers an invoice token at once;
    ``callback_delay`` seconds later the invoice is paid and the JSON callback
    is posted to the shop (round-robin over ``shops``, as a vendor reaching a
    load balancer would); confirm says ``pending`` until then, ``completed``
    with the invoice's amount after."""

    def __init__(self, callback_delay: float = 1.0, shops: list[str] | None = None):
        self.callback_delay = callback_delay
        self.shops = list(shops or [])
        self.invoices: dict[str, dict] = {}
        self.callback_sent: dict[str, float] = {}  # our payment reference → time.time()
        self.callback_failures = 0
        self.lock = threading.Lock()
        self._turn = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urllib.parse.urlsplit(self.path).path
                if path not in CREATE_PATHS:
                    return self._answer(404, {"response_code": "01", "response_text": "no"})
                try:
                    commande = json.loads(raw or b"{}")["commande"]
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"response_code": "01", "response_text": "bad"})
                token = stub.create(commande)
                link = f"https://client.ligdicash.com/directpayment/invoice/{token}"
                return self._answer(
                    200,
                    {
                        "response_code": "00",
                        "token": token,
                        "response_text": link,
                        "description": "",
                        "custom_data": commande.get("custom_data", {}),
                    },
                )

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path != CONFIRM_PATH:
                    return self._answer(404, {"response_code": "01", "response_text": "no"})
                token = urllib.parse.parse_qs(url.query).get("invoiceToken", [""])[0]
                return self._answer(200, stub.status_body(token))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> ProviderStub:
        threading.Thread(
            target=self.server.serve_forever, name="provider-stub", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def create(self, commande: dict) -> str:
        token = secrets.token_urlsafe(24)
        invoice = {
            "reference": str((commande.get("custom_data") or {}).get("transaction_id", "")),
            "amount": int(commande.get("invoice", {}).get("total_amount") or 0),
            "callback_url": commande.get("actions", {}).get("callback_url", ""),
            "paid": False,
        }
        with self.lock:
            self.invoices[token] = invoice
        timer = threading.Timer(self.callback_delay, self.pay, args=(token,))
        timer.daemon = True
        timer.start()
        return token

    def status_body(self, token: str) -> dict:
        with self.lock:
            invoice = self.invoices.get(token)
        if invoice is None:
            return {"response_code": "01", "token": token, "status": "notcompleted"}
        return {
            "response_code": "00",
            "token": token,
            "status": "completed" if invoice["paid"] else "pending",
            "amount": str(invoice["amount"]),
            "response_text": None,
            "custom_data": [
                {"keyof_customdata": "transaction_id", "valueof_customdata": invoice["reference"]}
            ],
            "transaction_id": invoice["reference"],
        }

    def pay(self, token: str) -> None:
        with self.lock:
            invoice = self.invoices[token]
            invoice["paid"] = True
            shop = self.shops[self._turn % len(self.shops)] if self.shops else ""
            self._turn += 1
        url = invoice["callback_url"]
        if shop:  # the same path on the next shop process
            url = shop.rstrip("/") + urllib.parse.urlsplit(url).path
        body = {**self.status_body(token), "token": "", "montant": str(invoice["amount"])}
        self.callback_sent[invoice["reference"]] = time.time()
        try:
            requests.post(url, json=body, timeout=10)
        except requests.RequestException:
            with self.lock:
                self.callback_failures += 1  # the poller must still finish it


# --- one shopper -----------------------------------------------------------------------
@dataclass
class Seen:
    """What a shopper received at one step: the final status and path after
    any redirects (their statuses in ``redirects``) and the shop's messages
    on that page (flash messages, a cart error, a form's error summary)."""

    step: str
    status: int
    path: str
    redirects: list[int]
    messages: list[str]

    def describe(self) -> str:
        hops = "".join(f"{code} → " for code in self.redirects)
        said = " | ".join(self.messages) or "no message"
        return f"{self.step}: {hops}{self.status} {self.path} ({said})"


@dataclass
class Outcome:
    email: str
    started: bool = False  # reached the provider (an order and an attempt exist)
    sold_out: bool = False  # stopped before the provider: the shop would not sell
    told: bool = False  # ... and the page that stopped her said the item is sold out
    told_at: str = ""  # the step whose page said it: product, cart_add, checkout_page, checkout
    told_by: str = ""  # which message (a key of SOLD_OUT_MESSAGES, or "badge")
    untold: str = ""  # what a sold-out shopper who was not told received instead
    error: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found.group(1) if found else ""


# The shop's own sold-out messages, exactly (French, and English when chosen):
# shop.services.OutOfStock (add to cart refused, checkout refused) and
# shop.cart.Cart.fit_to_stock (a line removed before the checkout form).
SOLD_OUT_MESSAGES = {
    "rupture de stock": re.compile(
        r"« (?P<name>.+) » est en rupture de stock\.|“(?P<en>.+)” is out of stock\."
    ),
    "retiré du panier": re.compile(
        r"« (?P<name>.+) » n'est plus en stock : nous l'avons retiré de votre panier\."
        r"|“(?P<en>.+)” is out of stock: we removed it from your cart\."
    ),
}
ADDED = re.compile(r"« (?P<name>.+) » est dans votre panier\.|“(?P<en>.+)” is in your cart\.")
# The product page's stock badge (shop/_stock.html) when there is none left.
SOLD_OUT_BADGE = re.compile(r'<span class="stock out">(Rupture de stock|Out of stock)</span>')
ADD_FORM = 'action="/panier/ajouter/"'

_FLASH = re.compile(r'<li class="msg[^"]*">(.*?)</li>', re.S)
_CART_ERROR = re.compile(r'<p class="msg error"[^>]*>(.*?)</p>', re.S)
_SUMMARY = re.compile(r'<div class="msg error error-summary".*?</div>', re.S)
_SUMMARY_ITEM = re.compile(r"<li>(.*?)</li>", re.S)
_TAG = re.compile(r"<[^>]+>")


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def shop_messages(page: str) -> list[str]:
    """The messages a page shows the shopper, in page order of kind."""
    found = [_text(m) for m in _FLASH.findall(page) + _CART_ERROR.findall(page)]
    for summary in _SUMMARY.findall(page):
        found += [_text(item) for item in _SUMMARY_ITEM.findall(summary)]
    return [m for m in found if m]


def _product_name(page: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", page, re.S)
    return _text(found.group(1)) if found else ""


def sold_out_message(messages: list[str], name: str) -> str:
    """The kind of the first message saying that ``name`` is sold out, or ""."""
    for message in messages:
        for kind, pattern in SOLD_OUT_MESSAGES.items():
            said = pattern.fullmatch(message)
            if said and name in (said.group("name"), said.group("en")):
                return kind
    return ""


def shopper(base: str, slug: str, product_id: int, email: str, phone: str) -> Outcome:
    """One shopper's purchase up to the provider's page, each step timed.

    She stops where a real shopper would: at a product page without the add
    button, at the first page saying the product is sold out, or at the first
    page that does not take her on (no "is in your cart", no checkout form,
    no payment page). A shopper stopped there is
    ``sold_out``; she is ``told`` only when that page says, in one of the
    shop's own sold-out messages naming the product, that it is sold out;
    anything else (an empty cart, a generic error, a 500) is in ``untold``."""
    out = Outcome(email=email)
    s = requests.Session()
    headers = {"Referer": base + "/"}

    def timed(step: str, call) -> requests.Response:
        t = time.perf_counter()
        response = call()
        out.timings[step] = time.perf_counter() - t
        out.seen.append(
            Seen(
                step=step,
                status=response.status_code,
                path=urllib.parse.urlsplit(response.url).path,
                redirects=[r.status_code for r in response.history],
                messages=shop_messages(response.text),
            )
        )
        return response

    def stopped(told_by: str) -> Outcome:
        out.sold_out = True
        out.told = bool(told_by)
        if told_by:
            out.told_at, out.told_by = out.seen[-1].step, told_by
        else:
            out.untold = out.seen[-1].describe()
        return out

    try:
        page = timed("product", lambda: s.get(f"{base}/produit/{slug}/", timeout=30))
        if page.status_code != 200:
            out.error = f"product page answered {page.status_code}"
            return out
        name = _product_name(page.text)
        if ADD_FORM not in page.text:  # no "Ajouter au panier": the badge says why
            return stopped("badge" if SOLD_OUT_BADGE.search(page.text) else "")
        timed(
            "cart_add",
            lambda: s.post(
                f"{base}/panier/ajouter/",
                data={
                    "csrfmiddlewaretoken": _csrf(page.text),
                    "product_id": product_id,
                    "quantity": "1",
                },
                headers=headers,
                timeout=30,
            ),
        )
        # The cart page she lands on may already say the last unit went meanwhile.
        told_by = sold_out_message(out.seen[-1].messages, name)
        if told_by or not any(ADDED.fullmatch(m) for m in out.seen[-1].messages):
            return stopped(told_by)
        form = timed("checkout_page", lambda: s.get(f"{base}/commande/", timeout=30))
        key = re.search(r'name="checkout_key" value="([^"]+)"', form.text)
        told_by = sold_out_message(out.seen[-1].messages, name)
        if told_by or key is None:  # no checkout form: the page says why
            return stopped(told_by)
        details = {
            "csrfmiddlewaretoken": _csrf(form.text),
            "checkout_key": key.group(1),
            "full_name": "Awa Traoré",
            "email": email,
            "country": "BF",
            "phone": phone,
        }
        pay = timed(
            "checkout",
            lambda: s.post(f"{base}/commande/", data=details, headers=headers, timeout=30),
        )
        if "/paiement/" not in pay.url:
            return stopped(sold_out_message(out.seen[-1].messages, name))
        choice = {
            "csrfmiddlewaretoken": _csrf(pay.text),
            "choice": "ligdicash:hosted",
            "payer_phone": phone,
        }
        answer = timed(
            "payment_start",
            lambda: s.post(
                pay.url, data=choice, headers=headers, allow_redirects=False, timeout=30
            ),
        )
        out.started = answer.status_code == 302
        if not out.started:
            out.error = f"payment start answered {answer.status_code}"
    except requests.RequestException as exc:
        out.error = type(exc).__name__
        out.untold = f"{out.error} after {[seen.step for seen in out.seen] or 'no answer'}"
    return out


def told_summary(outcomes: list[Outcome]) -> dict:
    """How the shoppers who missed out were told: counts per "step: message",
    and what each one not told received instead (counts per description)."""
    told: dict[str, int] = defaultdict(int)
    untold: dict[str, int] = defaultdict(int)
    for out in outcomes:
        if out.told:
            told[f"{out.told_at}: {out.told_by}"] += 1
        elif not out.started:  # missed out, and not told why
            untold[out.untold or out.error or "stopped without a sold-out message"] += 1
    return {"told": dict(sorted(told.items())), "not_told": dict(sorted(untold.items()))}


def crowd(
    bases: list[str],
    products: list[tuple[str, int]],
    shoppers: int,
    concurrency: int,
    first: int = 0,
) -> list[Outcome]:
    """``shoppers`` at once (at most ``concurrency`` in flight), spread over the
    shop processes and the products; shopper numbers (their e-mail and phone)
    start at ``first``, so two crowds of one run never share a shopper."""

    def one(i: int) -> Outcome:
        slug, pk = products[i % len(products)]
        n = first + i
        phone = f"+2267{n // 1000000 % 10}{n % 1000000:06d}"
        return shopper(bases[i % len(bases)], slug, pk, f"shopper{n}@bench.test", phone)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, range(shoppers)))


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}


def step_table(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    by_step: dict[str, list[float]] = defaultdict(list)
    for out in outcomes:
        for step, seconds in out.timings.items():
            by_step[step].append(seconds * 1000)
    return {step: percentiles(by_step[step]) for step in STEPS if by_step[step]}


# --- after the run (Django ORM: call inside a configured Django process) -------------
def wait_until_settled(timeout: float = 120) -> bool:
    """True once no payment is pending (the callbacks and the poller did their work)."""
    from payments.models import Payment, PaymentStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Payment.objects.filter(status=PaymentStatus.PENDING).exists():
            return True
        time.sleep(0.5)
    return False


def mails_to(mail_dir: str | Path) -> dict[str, int]:
    """Messages per recipient written by Django's file e-mail backend."""
    counts: dict[str, int] = defaultdict(int)
    for path in Path(mail_dir).glob("*.log"):
        for block in path.read_text(errors="replace").split("\n" + "-" * 79 + "\n"):
            found = re.search(r"^To: (.+)$", block, re.M)
            if found:
                counts[found.group(1).strip()] += 1
    return counts


def invariants(initial_stock: dict[int, int], mail_dir: str | Path) -> dict:
    """The run's invariants, each a count that must be 0 (or a list that must be empty)."""
    from django.db.models import Sum

    from payments.models import Payment, PaymentStatus
    from shop.models import Order, OrderLine, Product

    orders = Order.objects.filter(lines__product_id__in=list(initial_stock)).distinct()
    paid = orders.filter(paid_at__isnull=False)
    mails = mails_to(mail_dir)
    oversold = []
    for product in Product.objects.filter(pk__in=list(initial_stock)):
        sold = (
            OrderLine.objects.filter(order__in=paid, product=product).aggregate(n=Sum("quantity"))[
                "n"
            ]
            or 0
        )
        if product.stock < 0 or sold > initial_stock[product.pk]:
            oversold.append(product.pk)
        elif initial_stock[product.pk] - product.stock != sold:
            oversold.append(product.pk)  # a reservation neither sold nor released
    return {
        "orders": orders.count(),
        "paid": paid.count(),
        "open_orders": orders.filter(status=Order.Status.PENDING_PAYMENT).count(),
        "pending_payments": Payment.objects.filter(
            order__in=orders, status=PaymentStatus.PENDING
        ).count(),
        "oversold_or_lost_stock": oversold,
        "paid_without_one_email": [o.pk for o in paid if mails.get(o.email, 0) != 1],
        "emails_to_unpaid": sum(mails.get(o.email, 0) for o in orders.filter(paid_at__isnull=True)),
    }


def broken(report: dict) -> list[str]:
    """The names of the invariants that do not hold."""
    return [
        name
        for name in (
            "open_orders",
            "pending_payments",
            "oversold_or_lost_stock",
            "paid_without_one_email",
            "emails_to_unpaid",
        )
        if report[name]
    ]


def callback_to_paid(stub: ProviderStub) -> dict[str, float]:
    """ms from the stub's callback to the order's ``paid_at``."""
    from payments.models import Payment

    spans = []
    for reference, paid_at in Payment.objects.filter(order__paid_at__isnull=False).values_list(
        "reference", "order__paid_at"
    ):
        sent = stub.callback_sent.get(str(reference))
        if sent is not None:
            spans.append(max(0.0, paid_at.timestamp() - sent) * 1000)
    return percentiles(spans)


# --- BENCH_ONLY=purchase -------------------------------------------------------------
def main() -> int:  # pragma: no cover - exercised by `make bench`, not by the suite
    from bench import purchase_run

    return purchase_run.main()


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "ProviderStub",
    "Outcome",
    "Seen",
    "told_summary",
    "shop_messages",
    "sold_out_message",
    "shopper",
    "crowd",
    "step_table",
    "wait_until_settled",
    "invariants",
    "broken",
    "callback_to_paid",
    "percentiles",
    "mails_to",
    "STEPS",
]
