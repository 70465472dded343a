"""In-process CPU profile of the bench targets (no gunicorn, no wrk).

Run after ``make bench`` (it keeps its database, ``ashtech_bench``), with the
environment the README's "Profiling a slow page" gives:

    .venv/bin/python -m bench.profile [TARGET ...] [--n 300] [--profile] [--top 40]

For each target: a warm-up request, then ``--n`` requests through Django's
test client, timed with ``resource.getrusage(RUSAGE_THREAD)`` (CPU of this
thread: the Ligdicash stub runs in another thread and is not counted) and, with
``--profile``, under cProfile (sorted by cumulative time). Prints app CPU ms a
request; the database's CPU is not in it (the bench's "db" column).

Targets: hello home list detail cart checkout pay callback.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import secrets
import sys
import threading
from http.server import ThreadingHTTPServer

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from bench import data  # noqa: E402
from payments.models import Payment  # noqa: E402
from shop.models import Product  # noqa: E402

FORM = {
    "full_name": "Awa Ouédraogo",
    "email": "awa@example.bf",
    "country": "BF",
    "phone": "70 12 34 56",
    "address": "Ouagadougou",
}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def start_stub() -> None:
    """The bench's Ligdicash stub, in a thread, at the base URL the settings name."""
    from urllib.parse import urlsplit

    sys.path.insert(0, str(settings.BASE_DIR / "bench"))
    from run import LigdicashStub

    port = urlsplit(settings.PAYMENT_PROVIDERS["ligdicash"]["base_url"]).port
    server = ThreadingHTTPServer(("127.0.0.1", port), LigdicashStub)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


class Targets:
    def __init__(self, n: int) -> None:
        self.n = n
        self.client = Client()
        pool = list(
            Product.objects.filter(stock__gte=data.BIG_STOCK // 2)
            .order_by("id")
            .values_list("id", flat=True)
        )
        self.pool = pool
        self.csrf = secrets.token_hex(16)
        self.detail = (
            Product.objects.filter(stock__gt=10, stock__lt=data.BIG_STOCK)
            .order_by("id")[500:]
            .first()
            .slug
        )

    def sessions(self, n: int) -> list[str]:
        path = settings.BASE_DIR / "var" / "bench" / "profile-carts.tsv"
        data.carts(n, json.dumps(self.pool), self.csrf, str(path))
        return [line.split(";")[0].split("=", 1)[1] for line in path.read_text().splitlines()]

    def prepare(self, name: str):
        """A function making one request of the target (n + 1 of them available)."""
        c = self.client
        if name in ("hello", "home", "list", "detail"):
            path = {
                "hello": "/bench/hello/",
                "home": "/",
                "list": "/produits/",
                "detail": f"/produit/{self.detail}/",
            }[name]
            return lambda: c.get(path)
        if name == "cart":
            session = self.sessions(1)[0]
            c.cookies["sessionid"] = session
            return lambda: c.get("/panier/")
        if name == "checkout":
            sessions = iter(self.sessions(self.n + 1))

            def checkout():
                c.cookies["sessionid"] = next(sessions)
                response = c.post("/commande/", {**FORM, "checkout_key": secrets.token_hex(8)})
                assert response.status_code == 302, response.status_code
                return response

            return checkout
        if name == "pay":
            path = settings.BASE_DIR / "var" / "bench" / "profile-tokens.txt"
            data.orders(self.n + 1, str(path))
            paths = iter(path.read_text().split())

            def pay():
                response = c.post(next(paths), {"choice": "ligdicash:hosted"})
                assert response.status_code == 302 and "ligdicash" in response["Location"], (
                    response.status_code,
                    response.get("Location"),
                )
                return response

            return pay
        if name == "callback":
            rows = list(
                Payment.objects.filter(provider="ligdicash")
                .exclude(provider_reference="")
                .values_list("reference", "provider_reference", "amount")[:500]
            )
            counter = iter(range(10**9))
            run = secrets.token_hex(4)  # new events in every run

            def callback():
                i = next(counter)
                ref, token, amount = rows[i % len(rows)]
                # Even: a new event (a status never sent for that attempt: the
                # event id is reference + status); odd: a duplicate.
                body = data.callback_body(str(ref), token, amount, "2023-10-29 09:46:27+00")
                if i % 2 == 0:
                    body = body.replace(b'"completed"', f'"st-{run}-{i}"'.encode())
                response = c.post(
                    "/payments/callback/ligdicash/", body, content_type="application/json"
                )
                assert response.status_code == 200, response.status_code
                return response

            return callback
        raise SystemExit(f"unknown target {name!r}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "targets",
        nargs="*",
        default=["hello", "home", "list", "detail", "cart", "checkout", "pay", "callback"],
    )
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args(argv)
    start_stub()
    targets = Targets(args.n)
    for name in args.targets:
        request = targets.prepare(name)
        request()  # warm-up: caches filled, connections open
        profiler = cProfile.Profile() if args.profile else None
        before = cpu()
        if profiler:
            profiler.enable()
        for _ in range(args.n):
            request()
        if profiler:
            profiler.disable()
        spent = cpu() - before
        print(
            f"{name}: {spent * 1000 / args.n:.2f} ms CPU a request (app, "
            f"in-process{', under cProfile' if profiler else ''})"
        )
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    main(sys.argv[1:])
