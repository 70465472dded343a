"""``BENCH_ONLY=purchase make bench``: the whole purchase on one box.

gunicorn as the Dockerfile runs it (``ashtech_store.gunicorn_conf``: gthread
3 × 8, bound to loopback), the two Celery workers of docker-compose.yml (money
queues with the beat, e-mail/images), PostgreSQL (a fresh database: the one
named in ``BENCH_DATABASE_URL``, else ``ashtech_bench_purchase``; its name must
contain "bench"), Redis (broker and shared cache in one database:
``BENCH_PURCHASE_REDIS_URL``, else ``BENCH_REDIS_URL``, else database 13;
flushed at the start), the provider stub of bench/purchase.py. Then:

1. ``BENCH_SHOPPERS`` (32) shoppers at once each do the whole purchase; the
   stub calls back ``BENCH_CALLBACK_DELAY`` (1.0) s after each payment;
2. the flash sale: ``BENCH_FLASH_SHOPPERS`` (200) shoppers for the last
   ``BENCH_FLASH_UNITS`` (20) units.

Reported (stdout and bench/results/purchase-latest.md / .json): completed
orders per minute, p50/p95/p99 per step, callback-to-paid p50/p95/p99, CPU ms
per completed order for the app (gunicorn), the workers and the database
backends, the CPU share of the machine's other processes (other sessions'
tests) and the load average, and every invariant. For the flash sale, how each
shopper who missed out was told (per step and message) and what any shopper
not told received instead: exactly ``BENCH_FLASH_UNITS`` paid and nobody
left untold, or the run fails. Everything started here is stopped at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench import purchase
from bench.run import (
    BASE_DIR,
    DB_URL,
    PY,
    RESULTS,
    TICK,
    VENV_BIN,
    children_of,
    free_port,
    log,
    machine_ticks,
    port_answers,
    process_ticks,
    recreate_database,
)

SHOPPERS = int(os.environ.get("BENCH_SHOPPERS", "32"))
CALLBACK_DELAY = float(os.environ.get("BENCH_CALLBACK_DELAY", "1.0"))
FLASH_SHOPPERS = int(os.environ.get("BENCH_FLASH_SHOPPERS", "200"))
FLASH_UNITS = int(os.environ.get("BENCH_FLASH_UNITS", "20"))
REDIS = os.environ.get("BENCH_PURCHASE_REDIS_URL") or os.environ.get(
    "BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"
)
DB_NAME = (
    urllib.parse.urlsplit(os.environ["BENCH_DATABASE_URL"]).path.strip("/")
    if os.environ.get("BENCH_DATABASE_URL")
    else "ashtech_bench_purchase"
)


def check_targets() -> None:
    """Only a loopback database whose name says "bench" is dropped and made
    again, and only a Redis database of its own (not 0, not the tests' 15) flushed."""
    db, redis = urllib.parse.urlsplit(DB_URL), urllib.parse.urlsplit(REDIS)
    if db.hostname not in ("127.0.0.1", "localhost") or redis.hostname not in (
        "127.0.0.1",
        "localhost",
    ):
        raise SystemExit("bench: the database and Redis must be on 127.0.0.1")
    if "bench" not in DB_NAME or not DB_NAME.replace("_", "").isalnum():
        raise SystemExit(f"bench: refusing to recreate database {DB_NAME!r} (no 'bench' in it)")
    if redis.path.strip("/") in ("", "0", "15"):
        raise SystemExit("bench: use a Redis database of its own (not 0, not 15 of the tests)")


class Stack:
    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        (BASE_DIR / "var").mkdir(exist_ok=True)  # a fresh checkout has none yet
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-purchase-", dir=BASE_DIR / "var"))
        self.mail_dir = self.tmp / "mail"
        self.mail_dir.mkdir()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stub = purchase.ProviderStub(CALLBACK_DELAY, shops=[self.base]).start()
        admin = urllib.parse.urlsplit(DB_URL)
        self.admin_url = admin._replace(path="/postgres").geturl()
        self.db_url = admin._replace(path=f"/{DB_NAME}").geturl()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": str(BASE_DIR),
            "DATABASE_URL": self.db_url,
            "SECRET_KEY": secrets.token_urlsafe(64),
            "DEBUG": "false",
            "SITE_URL": self.base,
            "CSRF_TRUSTED_ORIGINS": self.base,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "RATELIMIT_ENABLE": "false",
            "SHOP_MAX_ORDERS_PER_ADDRESS_HOUR": "1000000",
            "SHOP_MAX_HELD_VALUE_PER_ADDRESS": "1000000000000",
            "EMAIL_URL": f"filemail:///{self.mail_dir}",  # django-environ drops one "/"
            "PAYMENTS_SANDBOX": "false",
            "LIGDICASH_BASE_URL": self.stub.url,
            "CELERY_BROKER_URL": REDIS,
            "CACHE_URL": REDIS,  # Django's keys are prefixed (":1:"), Celery's are not
            "LOG_LEVEL": "WARNING",
            "BENCH_STATIC_ROOT": str(self.tmp / "static"),
            "BENCH_MEDIA_ROOT": str(self.tmp / "media"),
        }

    def start(self, name: str, args: list[str]) -> None:
        self.procs[name] = subprocess.Popen(
            args,
            cwd=BASE_DIR,
            env=self.env,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "w"),  # noqa: SIM115
        )

    def up(self) -> None:
        recreate_database(DB_NAME, self.admin_url)
        import redis

        redis.Redis.from_url(REDIS).flushdb()
        for command in (["migrate"], ["collectstatic", "--clear"]):
            subprocess.run(
                [PY, "manage.py", *command, "--noinput", "-v0"],
                cwd=BASE_DIR,
                env=self.env,
                check=True,
            )
        self.start(
            "web",
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "python:ashtech_store.gunicorn_conf",
                f"--bind=127.0.0.1:{self.port}",
                "--access-logfile=/dev/null",
                "ashtech_store.wsgi",
            ],
        )
        celery = [PY, "-m", "celery", "-A", "ashtech_store", "worker", "-l", "WARNING"]
        schedule = str(self.tmp / "beat")
        self.start(
            "worker",
            [
                *celery,
                "-Q",
                "callbacks,polling,refunds,celery",
                "-c",
                "4",
                "--beat",
                "-s",
                schedule,
            ],
        )
        self.start("worker-notify", [*celery, "-Q", "email,images", "-c", "2"])
        import requests

        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.base + "/health/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or any(
                p.poll() is not None for p in self.procs.values()
            ):
                raise RuntimeError(f"the stack did not come up; logs in {self.tmp}")
            time.sleep(0.5)

    def groups(self) -> dict[str, list[int]]:
        def tree(proc: subprocess.Popen | None) -> list[int]:
            if proc is None or proc.poll() is not None:
                return []
            return [proc.pid, *children_of(proc.pid)]

        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            db = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (DB_NAME,)
                )
            ]
        return {
            "app": tree(self.procs.get("web")),
            "worker": tree(self.procs.get("worker")) + tree(self.procs.get("worker-notify")),
            "db": db,
        }

    def ticks(self, groups: dict[str, list[int]]) -> dict[str, int]:
        return {g: sum(process_ticks(pid)[1] for pid in pids) for g, pids in groups.items()}

    def down(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.stub.stop()


def phase(
    stack: Stack, products, shoppers: int, first: int, initial: dict, units: int | None = None
) -> dict:
    """One crowd and its report; ``units``: a flash sale of that many units
    (exactly that many paid, every other shopper told they are sold out)."""
    groups = stack.groups()
    before, busy0 = stack.ticks(groups), machine_ticks()
    own0 = process_ticks(os.getpid())[1]  # the shoppers' threads and the stub
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    outcomes = purchase.crowd([stack.base], products, shoppers, shoppers, first=first)
    settled = purchase.wait_until_settled(300)
    to_settled = time.monotonic() - started  # every payment final: the throughput's span
    deadline = time.monotonic() + 60
    while True:
        report = purchase.invariants(initial, stack.mail_dir)
        if not purchase.broken(report) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    groups = {g: sorted(set(pids) | set(stack.groups()[g])) for g, pids in groups.items()}
    after, busy1 = stack.ticks(groups), machine_ticks()
    own1 = process_ticks(os.getpid())[1]
    paid = max(report["paid"], 1)
    span = max(busy1[1] - busy0[1], 1)
    ours = sum(after[g] - before.get(g, 0) for g in after) + own1 - own0
    told = purchase.told_summary(outcomes)
    failed = purchase.broken(report)
    if told["not_told"]:
        failed.append("sold_out_not_told")
    if units is not None and report["paid"] != units:
        failed.append("flash_paid_not_units")
    if units is None and any(not o.started for o in outcomes):
        failed.append("shoppers_not_started")
    return {
        "shoppers": shoppers,
        "started": sum(o.started for o in outcomes),
        "sold_out": sum(o.sold_out for o in outcomes),
        "sold_out_told": sum(o.told for o in outcomes if o.sold_out),
        "told": told["told"],
        "not_told": told["not_told"],
        "errors": sorted({o.error for o in outcomes if o.error}),
        "settled": settled,
        "seconds": round(elapsed, 1),
        "seconds_to_settled": round(to_settled, 1),
        "orders_per_minute": round(report["paid"] / to_settled * 60, 1),
        "steps_ms": purchase.step_table(outcomes),
        "callback_to_paid_ms": purchase.callback_to_paid(stack.stub),
        "cpu_ms_per_order": {
            g: round((after[g] - before.get(g, 0)) / TICK * 1000 / paid, 1) for g in after
        },
        "machine_busy": round((busy1[0] - busy0[0]) / span, 2),
        "other_busy": round(max(busy1[0] - busy0[0] - ours, 0) / span, 2),
        "load_average": [round(load_start, 1), round(os.getloadavg()[0], 1)],
        "invariants": report,
        "broken": failed,
        # What the first shoppers not told received, step by step (to look at).
        "not_told_traces": [
            [seen.describe() for seen in o.seen] + ([o.error] if o.error else [])
            for o in outcomes
            if not o.started and not o.told
        ][:5],
    }


def render(runs: dict) -> str:
    lines = [f"# Whole purchase, {dt.datetime.now():%Y-%m-%d %H:%M}", ""]
    lines.append(
        f"gunicorn gthread 3 × 8, 2 Celery workers (4 + 2), callback after {CALLBACK_DELAY} s; "
        f"{os.cpu_count()} cores shared with the load and the stub."
    )
    for name, run in runs.items():
        lines += ["", f"## {name}: {run['shoppers']} shoppers", ""]
        lines.append(
            f"- paid {run['invariants']['paid']} in {run['seconds_to_settled']} s: "
            f"**{run['orders_per_minute']} orders/min**; sold out {run['sold_out']} "
            f"(told {run['sold_out_told']}); errors {run['errors'] or 'none'}"
        )
        c2p = run["callback_to_paid_ms"]
        lines.append(
            f"- callback → paid: p50 {c2p['p50']:.0f} ms, p95 {c2p['p95']:.0f} ms, "
            f"p99 {c2p['p99']:.0f} ms"
        )
        cpu = run["cpu_ms_per_order"]
        lines.append(
            f"- CPU ms per completed order: app {cpu['app']}, workers {cpu['worker']}, "
            f"database {cpu['db']} (machine busy {run['machine_busy']:.0%}, of which other "
            f"processes {run['other_busy']:.0%}; load average {run['load_average'][0]} at the "
            f"start, {run['load_average'][1]} at the end)"
        )
        if run["sold_out"] or run["not_told"]:
            told = ", ".join(f"{n} at {how}" for how, n in run["told"].items()) or "none"
            lines.append(f"- told it is sold out: {run['sold_out_told']} ({told})")
            for what, n in run["not_told"].items():
                lines.append(f"- **not told** ({n}): {what}")
        lines.append(f"- invariants: {'all hold' if not run['broken'] else run['broken']}")
        lines += ["", "| step | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|"]
        for step, p in run["steps_ms"].items():
            lines.append(f"| {step} | {p['p50']:.0f} | {p['p95']:.0f} | {p['p99']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    if not (port_answers(DB_URL) and port_answers(REDIS)):
        raise SystemExit("bench: PostgreSQL/Redis not answering: run `make bench`")
    check_targets()
    stack = Stack()
    try:
        os.environ.update({k: v for k, v in stack.env.items() if k not in ("PYTHONPATH",)})
        stack.up()
        import django

        django.setup()
        from shop.models import Category, Product

        category = Category.objects.create(name="Bench", slug="bench")
        stock = Product.objects.create(
            category=category,
            name="Tecno Spark 20",
            slug="tecno-spark-20",
            price=15000,
            stock=SHOPPERS * 2,
        )
        flash = Product.objects.create(
            category=category,
            name="Infinix Hot 40",
            slug="infinix-hot-40",
            price=90000,
            stock=FLASH_UNITS,
        )
        log(f"purchase: {SHOPPERS} shoppers on {stack.base}")
        runs = {
            "purchase": phase(stack, [(stock.slug, stock.pk)], SHOPPERS, 0, {stock.pk: stock.stock})
        }
        log(f"flash sale: {FLASH_SHOPPERS} shoppers for {FLASH_UNITS} units")
        runs["flash sale"] = phase(
            stack,
            [(flash.slug, flash.pk)],
            FLASH_SHOPPERS,
            100_000,
            {flash.pk: FLASH_UNITS},
            units=FLASH_UNITS,
        )
        report = render(runs)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "purchase-latest.md").write_text(report)
        (RESULTS / "purchase-latest.json").write_text(json.dumps(runs, indent=1, default=str))
        print(report)
        return 0 if not any(run["broken"] for run in runs.values()) else 1
    finally:
        stack.down()
        log(f"stopped; logs in {stack.tmp}")


if __name__ == "__main__":
    sys.exit(main())
