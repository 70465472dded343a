#!/usr/bin/env python
"""The benchmark of the shop's hot paths, as one command (`make bench`).

Steps: wrk installed (Debian package) and PostgreSQL/Redis up; a fresh
database (``ashtech_bench``) migrated and loaded with 1 000 products; a local
Ligdicash stub; gunicorn (2×cores+1 sync workers, DEBUG=False, CONN_MAX_AGE
600, static files collected); session cookies made by a scripted
add-to-cart; the SQL queries of one request per target; then
``wrk -t2 -c16 -d$BENCH_DURATION s --latency`` per target; a Markdown table in
bench/results/latest.md. Everything it starts is stopped at the end (also on
Ctrl-C, an error or the overall time limit). Traffic stays on 127.0.0.1.

Environment: BENCH_DURATION (10), BENCH_WARMUP (2), BENCH_THREADS (2),
BENCH_CONNECTIONS (16), BENCH_WORKERS (2×cores+1), BENCH_DATABASE_URL
(postgres://postgres@127.0.0.1:5432/ashtech_bench), BENCH_REDIS_URL
(redis://127.0.0.1:6379/14), BENCH_ONLY (comma-separated target keys;
``purchase``: the whole-purchase scenario instead, bench/purchase_run.py).
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
RESULTS = BENCH_DIR / "results"
WORK = BASE_DIR / "var" / "bench"
VENV_BIN = BASE_DIR / ".venv" / "bin"
PY = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
CORES = os.cpu_count() or 1
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * CORES + 1)))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ashtech_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ONLY = {k for k in os.environ.get("BENCH_ONLY", "").split(",") if k}
LATER_PAGE = 30  # of 42 (1 000 products, 24 a page)
CHECKOUT_CARTS = 16  # one per connection: concurrent checkouts take different product rows
LOOPBACK = {"127.0.0.1", "localhost"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- targets and goals ----------------------------------------------------------
@dataclass
class Target:
    key: str
    label: str
    method: str
    path: str
    script: str
    goal: str = "—"
    reference: str = "—"
    min_rps: float | None = None
    max_p99_ms: float | None = None
    max_p95_ms: float | None = None
    max_queries: int | None = None
    min_ratio: float | None = None  # of the hello view's rate in the same run
    query_keys: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)  # rows written during the measured run
    # CPU ms/request (app + db) at most this multiple of the hello view's in the same run.
    max_cpu_ratio: float | None = None


REFERENCE_HELLO = 3810  # req/s of the hello view on the reference box
LIST_GOAL = "≤ 6 q, ≥ 250 req/s, p99 ≤ 150 ms, ≥ 1/8 hello"
TARGETS = [
    Target(
        "hello",
        "Minimal view (hello, same stack)",
        "GET",
        "/bench/hello/",
        "get.lua",
        reference="3 810 req/s, p50 3.7, p99 12.9, 0 q",
        query_keys=("hello",),
    ),
    Target(
        "home",
        "Home page",
        "GET",
        "/",
        "get.lua",
        "≤ 6 q, ≥ 250 req/s, p99 ≤ 150 ms",
        "—",
        250,
        150,
        None,
        6,
        None,
        ("home",),
    ),
    Target(
        "list",
        "Product list, page 1",
        "GET",
        "/produits/",
        "get.lua",
        LIST_GOAL,
        "514 req/s, p50 30.6, p99 48.5, 1 q",
        250,
        150,
        None,
        6,
        1 / 8,
        ("list",),
    ),
    Target(
        "list_later",
        f"Product list, page {LATER_PAGE}",
        "GET",
        f"/produits/?page={LATER_PAGE}",
        "get.lua",
        LIST_GOAL,
        "514 req/s, p50 30.6, p99 48.5, 1 q",
        250,
        150,
        None,
        6,
        1 / 8,
        ("list_later",),
    ),
    Target(
        "detail",
        "Product detail",
        "GET",
        "/produit/{detail_slug}/",
        "get.lua",
        "≤ 6 q, ≥ 250 req/s, p99 ≤ 150 ms, ≥ 1/8 hello",
        "—",
        250,
        150,
        None,
        6,
        1 / 8,
        ("detail",),
    ),
    Target(
        "cart",
        "Cart page, 5 lines",
        "GET",
        "/panier/",
        "get.lua",
        "≤ 8 q, ≥ 150 req/s, p99 ≤ 200 ms",
        "—",
        150,
        200,
        None,
        8,
        None,
        ("cart",),
    ),
    Target(
        "checkout",
        "Checkout submit → order",
        "POST",
        "/commande/",
        "checkout.lua",
        "≤ 25 q, p95 ≤ 300 ms",
        "—",
        None,
        None,
        300,
        25,
        None,
        ("checkout",),
    ),
    Target(
        "pay",
        "Payment start → attempt, provider stub",
        "POST",
        "/paiement/",  # replaced by the prefix reverse("payments:pay") gives (target_env)
        "pay.lua",
        "≤ 25 q, p95 ≤ 300 ms",
        "—",
        None,
        None,
        300,
        25,
        None,
        ("pay",),
    ),
    Target(
        "callback",
        "Callback intake, Ligdicash, ½ new ½ duplicate",
        "POST",
        "/payments/callback/ligdicash/",
        "callback.lua",
        "≤ 4 q, ≥ 300 req/s, p99 ≤ 100 ms",
        "850 req/s, p50 18.7, p99 33.0, 1–2 q",
        300,
        100,
        None,
        4,
        None,
        ("callback_new", "callback_dup"),
    ),
]


# Issue 20, item 5: CPU ms/request (app + db) as a multiple of the bare view's in
# the same run ("× bare view"), a figure that travels between machines.
CPU_GOALS = {
    "home": 3,
    "list": 3,
    "list_later": 3,
    "detail": 3,
    "cart": 6,
    "checkout": 12,
    "pay": 12,
    "callback": 3,
}
CALLBACK_MIN_RATIO = 0.3  # the callback intake's req/s, of the bare view's
for _target in TARGETS:
    _target.max_cpu_ratio = CPU_GOALS.get(_target.key)
    if _target.key == "callback":
        _target.min_ratio = CALLBACK_MIN_RATIO


def cpu_ms(result: dict) -> float:
    """CPU ms a request, app (gunicorn) + db (its PostgreSQL backends)."""
    return result["cpu"]["app_ms_per_request"] + result["cpu"]["db_ms_per_request"]


# --- the Ligdicash stub ("provider mocked" at the HTTP boundary) ---------------
class LigdicashStub(BaseHTTPRequestHandler):
    """Answers the create endpoints the way Ligdicash
    documents them (tests/payments/vendor_samples/ligdicash/), at once; the
    status endpoint says pending."""

    server_version = "ligdicash-stub/1"
    creates = 0
    lock = threading.Lock()

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
        if path in (
            "/pay/v01/redirect/checkout-invoice/create",
            "/pay/v01/straight/checkout-invoice/create",
        ):
            try:
                custom = json.loads(raw or b"{}").get("commande", {}).get("custom_data", {})
            except (ValueError, AttributeError):
                return self._answer(400, {"response_code": "01", "response_text": "bad json"})
            token = secrets.token_urlsafe(32)
            # A link on the vendor's host: the shop follows no other (the benchmark never opens it).
            link = (
                f"https://client.ligdicash.com/directpayment/invoice/{token}"
                if "/redirect/" in path
                else ""
            )
            with LigdicashStub.lock:
                LigdicashStub.creates += 1
            return self._answer(
                200,
                {
                    "response_code": "00",
                    "token": token,
                    "response_text": link,
                    "description": "",
                    "custom_data": custom,
                    "wiki": "https://client.ligdicash.com/wiki/createInvoice",
                },
            )
        self._answer(404, {"response_code": "01", "response_text": "not stubbed"})

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path)
        if path.path == "/pay/v01/redirect/checkout-invoice/confirm/":
            token = urllib.parse.parse_qs(path.query).get("invoiceToken", [""])[0]
            return self._answer(
                200,
                {
                    "response_code": "00",
                    "token": token,
                    "status": "pending",
                    "amount": "0",
                    "response_text": None,
                    "custom_data": [],
                },
            )
        self._answer(404, {"response_code": "01", "response_text": "not stubbed"})


# --- helpers ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TICK = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def process_ticks(pid: int) -> tuple[int, int]:
    """(ppid, utime + stime) of a process, or (0, 0) if it is gone."""
    try:
        rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0, 0
    return int(rest[1]), int(rest[11]) + int(rest[12])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and process_ticks(int(entry.name))[0] == pid:
            found.append(int(entry.name))
    return found


def run(
    cmd: list[str], env: dict | None = None, timeout: float = 120, capture: bool = False
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cmd, cwd=BASE_DIR, env=env, timeout=timeout, text=True, capture_output=capture
    )
    if result.returncode != 0:
        if capture:
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise RuntimeError(f"failed ({result.returncode}): {' '.join(cmd)}")
    return result


def ensure_tools() -> None:
    if shutil.which("wrk") is None:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        log("wrk missing: apt-get update && apt-get install -y wrk")
        run([*sudo, "apt-get", "update"], timeout=300)
        run(
            [*sudo, "apt-get", "install", "-y", "wrk"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            timeout=300,
        )
    missing = [
        name
        for name, url in (("PostgreSQL", DB_URL), ("Redis", REDIS_URL))
        if not port_answers(url)
    ]
    if missing:
        raise SystemExit(
            f"bench: {' and '.join(missing)} not answering: run `make bench`, which starts them"
        )


def port_answers(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


def check_loopback() -> tuple[str, str]:
    db = urllib.parse.urlsplit(DB_URL)
    redis = urllib.parse.urlsplit(REDIS_URL)
    name = db.path.lstrip("/")
    if db.hostname not in LOOPBACK or redis.hostname not in LOOPBACK:
        raise SystemExit("bench: the database and Redis must be on 127.0.0.1")
    if not re.fullmatch(r"[a-z0-9_]*bench[a-z0-9_]*", name):
        raise SystemExit(
            f"bench: refusing to recreate database {name!r} (its name must contain 'bench')"
        )
    if redis.path.strip("/") in ("", "0", "15"):
        raise SystemExit("bench: use a Redis database of its own (not 0, not 15 of the tests)")
    return name, db._replace(path="/postgres").geturl()


def recreate_database(name: str, admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()


def server_versions() -> str:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    wrk = out(["wrk", "--version"]).split(" [")[0] or "wrk"
    pg = out(["psql", DB_URL, "-tAc", "show server_version"]).split(" ")[0]
    redis = out(["redis-cli", "-h", "127.0.0.1", "info", "server"])
    redis = next(
        (line.split(":")[1] for line in redis.splitlines() if line.startswith("redis_version")), "?"
    )
    py = out(
        [
            PY,
            "-c",
            "import django, gunicorn, psycopg; print(django.__version__, gunicorn.__version__, "
            "psycopg.__version__)",
        ]
    ).split()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    commit = out(["git", "-C", str(BASE_DIR), "rev-parse", "--short", "HEAD"])
    dirty = (
        " + uncommitted changes"
        if out(["git", "-C", str(BASE_DIR), "status", "--porcelain", "--untracked-files=no"])
        else ""
    )
    return (
        f"{CORES} cores ({cpu}), {platform.system()} {platform.release()}; Python "
        f"{platform.python_version()}, "
        f"Django {py[0] if py else '?'}, gunicorn {py[1] if len(py) > 1 else '?'} ({WORKERS} sync "
        f"workers), psycopg {py[2] if len(py) > 2 else '?'}; "
        f"PostgreSQL {pg}; Redis {redis}; {wrk}; commit {commit}{dirty}"
    )


# --- the browser part: sessions made by a scripted add-to-cart ------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def scripted_cart(base: str, product_ids: list[int], any_slug: str) -> tuple[str, str]:
    """Add the products to a new cart like a browser does; returns (sessionid, csrftoken)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def call(path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with opener.open(base + path, data=body, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:  # 302 lands here with NoRedirect
            return exc.code, exc.read().decode(errors="replace")

    call(f"/produit/{any_slug}/")
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    for pid in product_ids:
        status, _ = call(
            "/panier/ajouter/", {"csrfmiddlewaretoken": csrf, "product_id": pid, "quantity": "1"}
        )
        if status != 302:
            raise RuntimeError(f"add-to-cart of product {pid} answered {status}")
    status, html = call("/panier/")
    lines = html.count('class="cart-line"')
    if status != 200 or lines != len(product_ids):
        raise RuntimeError(
            f"cart page answered {status} with {lines} lines, expected {len(product_ids)}"
        )
    session = next(c.value for c in jar if c.name == "sessionid")
    return session, csrf


# --- wrk ------------------------------------------------------------------------------
def wrk(target: Target, base: str, duration: int, seq: int, extra_env: dict) -> dict:
    url = base + target.path
    cmd = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        f"bench/{target.script}",
        url,
    ]
    env = {
        **os.environ,
        **extra_env,
        "BENCH_THREADS": str(THREADS),
        "BENCH_SEQ": str(seq),
        "BENCH_RUN": f"{RUN_ID}s{seq}",
    }
    result = run(cmd, env=env, timeout=duration + 60, capture=True)
    match = re.search(r"^BENCH_JSON (\{.*\})$", result.stdout, re.M)
    if not match:
        sys.stderr.write(result.stdout + result.stderr)
        raise RuntimeError(f"wrk printed no summary for {target.key}")
    data = json.loads(match.group(1))
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", result.stdout, re.M)
    data["rps"] = float(rps.group(1)) if rps else data["requests"] / (data["duration_us"] / 1e6)
    data["raw"] = result.stdout
    return data


RUN_ID = secrets.token_hex(3)


# --- the run ----------------------------------------------------------------------------
class Bench:
    def __init__(self) -> None:
        self.gunicorn: subprocess.Popen | None = None
        self.stub: ThreadingHTTPServer | None = None
        self.env: dict = {}
        self.base = ""
        self.state: dict = {}
        self.queries: dict = {}
        self.seq = 0
        self.csrf = ""
        self.db_name = ""
        self.admin_url = ""

    def our_pids(self) -> dict[str, list[int]]:
        """gunicorn (master and workers) and the PostgreSQL backends of the bench database."""
        app = (
            [self.gunicorn.pid, *children_of(self.gunicorn.pid)]
            if self.gunicorn and self.gunicorn.poll() is None
            else []
        )
        db = []
        try:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
                db = [
                    row[0]
                    for row in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,)
                    )
                ]
        except Exception:
            pass
        return {"app": app, "db": db}

    def _ticks(self, pids: dict[str, list[int]]) -> dict[str, float]:
        own = os.times()  # this process (the stub's threads) and its waited children (wrk)
        ticks = {
            group: sum(process_ticks(pid)[1] for pid in members) for group, members in pids.items()
        }
        ticks["load"] = (own.user + own.system + own.children_user + own.children_system) * TICK
        return ticks

    def cpu_snapshot(self) -> dict:
        """Where the machine's CPU goes: the app (gunicorn), its database
        backends, the load side (wrk and the stub) versus everything else."""
        pids = self.our_pids()
        busy, total = machine_ticks()
        return {"pids": pids, "busy": busy, "total": total, "ticks": self._ticks(pids)}

    def cpu_share(self, before: dict, requests: int) -> dict:
        busy, total = machine_ticks()
        ticks = self._ticks(before["pids"])
        spent = {group: ticks[group] - before["ticks"][group] for group in ticks}
        span = max(total - before["total"], 1)
        used = busy - before["busy"]
        mine = sum(spent.values())
        per_request = {
            f"{group}_ms_per_request": spent[group] / TICK * 1000 / max(requests, 1)
            for group in spent
        }
        return {
            "machine_busy": used / span,
            "bench": mine / span,
            "other": max(used - mine, 0) / span,
            **per_request,
        }

    def django(self, *args: str, timeout: float = 300) -> str:
        return run(
            [PY, "-m", "bench.data", *args], env=self.env, timeout=timeout, capture=True
        ).stdout

    def counts(self, analyze: bool = False) -> dict:
        return json.loads(
            self.django("counts", *(["analyze"] if analyze else [])).strip().splitlines()[-1]
        )

    def start_stub(self) -> str:
        self.stub = ThreadingHTTPServer(("127.0.0.1", 0), LigdicashStub)
        self.stub.daemon_threads = True
        threading.Thread(target=self.stub.serve_forever, name="ligdicash-stub", daemon=True).start()
        return f"http://127.0.0.1:{self.stub.server_port}"

    def start_gunicorn(self, port: int) -> None:
        cmd = [
            str(VENV_BIN / "gunicorn"),
            "ashtech_store.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            "--worker-class=sync",
            "--timeout=30",
            "--graceful-timeout=5",
            "--log-level=warning",
            f"--error-logfile={RESULTS / 'gunicorn.log'}",
        ]
        self.gunicorn = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=self.env, start_new_session=True, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited ({self.gunicorn.returncode}); see {RESULTS / 'gunicorn.log'}"
                )
            try:
                with urllib.request.urlopen(self.base + "/bench/hello/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def stop(self) -> None:
        if self.gunicorn and self.gunicorn.poll() is None:
            log(f"stopping gunicorn (pid {self.gunicorn.pid})")
            self.gunicorn.terminate()
            try:
                self.gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.gunicorn.pid, signal.SIGKILL)
                self.gunicorn.wait(timeout=5)
        if self.gunicorn:
            try:  # workers left behind by a killed master: same process group
                os.killpg(self.gunicorn.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.stub:
            self.stub.shutdown()
            self.stub.server_close()
            self.stub = None
        try:
            flush_redis()  # the poll and callback tasks nobody consumes
        except Exception as exc:
            log(f"could not empty {REDIS_URL}: {exc}")

    def prepare(self) -> None:
        db_name, admin_url = check_loopback()
        self.db_name, self.admin_url = db_name, admin_url
        ensure_tools()
        RESULTS.mkdir(parents=True, exist_ok=True)
        WORK.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        stub_url = self.start_stub()
        log(f"Ligdicash stub on {stub_url}")
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": str(BASE_DIR),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": DB_URL,
            "SECRET_KEY": secrets.token_urlsafe(64),
            "DEBUG": "false",
            "CONN_MAX_AGE": "600",
            "SITE_URL": self.base,
            "CSRF_TRUSTED_ORIGINS": self.base,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "RATELIMIT_ENABLE": "false",
            # The load is one shopper placing thousands of orders: lift the per-shopper caps.
            "SHOP_MAX_OPEN_ORDERS": "1000000",
            "SHOP_MAX_ORDER_VALUE": "1000000000000",
            "EMAIL_URL": "memorymail://",
            "PAYMENTS_SANDBOX": "false",
            "LIGDICASH_BASE_URL": stub_url,
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOG_LEVEL": "WARNING",
            "BENCH_STATIC_ROOT": str(WORK / "static"),
            "BENCH_MEDIA_ROOT": str(WORK / "media"),
        }
        self.env.pop("CACHE_URL", None)  # the shop's default per-process cache
        log(f"database {db_name}: recreate and migrate")
        recreate_database(db_name, admin_url)
        flush_redis()
        run(
            [PY, "manage.py", "migrate", "--noinput", "-v0"],
            env=self.env,
            timeout=300,
            capture=True,
        )
        run(
            [PY, "manage.py", "collectstatic", "--noinput", "--clear", "-v0"],
            env=self.env,
            timeout=300,
            capture=True,
        )
        state_file = WORK / "state.json"
        log(self.django("catalogue", str(state_file)).strip())
        self.state = json.loads(state_file.read_text())
        self.state["later_page"] = LATER_PAGE
        log(f"gunicorn: {WORKERS} sync workers on {self.base}")
        self.start_gunicorn(port)
        pool = self.state["pool"]
        slug = self.state["detail_slug"]
        log("scripted add-to-cart: 1 cart of 5 lines for the cart page, 16 carts for checkout")
        self.state["cart_session"], self.csrf = scripted_cart(self.base, pool[:5], slug)
        carts = [
            scripted_cart(self.base, pool[5 + 5 * i : 10 + 5 * i], slug)
            for i in range(CHECKOUT_CARTS)
        ]
        self.state["checkout_sessions"] = [session for session, _ in carts]
        (WORK / "carts.tsv").write_text(
            "".join(f"sessionid={s}; csrftoken={c}\t{c}\n" for s, c in carts)
        )
        state_file.write_text(json.dumps(self.state))
        log(self.django("queries", str(state_file), str(WORK / "queries.json")).strip())
        self.queries = json.loads((WORK / "queries.json").read_text())
        bad = {k: v["status"] for k, v in self.queries.items() if v["status"] != v["expected"]}
        if bad:
            raise RuntimeError(f"unexpected answers before the load: {bad}")

    def target_env(self, target: Target, duration: int) -> dict:
        """Data a target's script needs, refreshed before each wrk run."""
        if target.key == "cart":
            return {
                "BENCH_COOKIE": f"sessionid={self.state['cart_session']}; csrftoken={self.csrf}"
            }
        if target.key == "checkout":
            # One cart (one server-side session) per request: a checkout empties it.
            need = max(3000, int(120 * duration))
            log(
                self.django(
                    "carts",
                    str(need),
                    json.dumps(self.state["pool"]),
                    self.csrf,
                    str(WORK / "carts.tsv"),
                ).strip()
            )
            return {"BENCH_CARTS": str(WORK / "carts.tsv")}
        if target.key == "pay":
            # One fresh order per request: three times what the checkout rate suggests.
            rate = next((t.result["rps"] for t in TARGETS if t.key == "checkout" and t.result), 300)
            need = max(1000, int(3 * rate * duration))
            log(self.django("orders", str(need), str(WORK / "tokens.txt")).strip())
            # The shown path: the payment pages' prefix, as the URLconf reverses it.
            first = (WORK / "tokens.txt").read_text().split("\n", 1)[0]
            target.path = first.rstrip("/").rsplit("/", 1)[0] + "/"
            return {"BENCH_TOKENS": str(WORK / "tokens.txt"), "BENCH_CSRF": self.csrf}
        if target.key == "callback":
            log(self.django("payments", str(WORK / "payments.tsv")).strip())
            return {"BENCH_PAYMENTS": str(WORK / "payments.tsv")}
        return {}

    def measure(self, target: Target) -> None:
        if "{" in target.path:
            target.path = target.path.format(**self.state)
        writes = target.key in ("checkout", "pay", "callback")
        if WARMUP:
            self.seq += 1
            wrk(target, self.base, WARMUP, self.seq, self.target_env(target, WARMUP))
        extra = self.target_env(target, DURATION)
        before = self.counts(analyze=True) if writes else {}
        creates_before = LigdicashStub.creates
        self.seq += 1
        log(
            f"wrk {target.key}: {target.method} {target.path}{'…' if target.key == 'pay' else ''} "
            f"for {DURATION} s"
        )
        cpu = self.cpu_snapshot()
        target.result = wrk(target, self.base, DURATION, self.seq, extra)
        target.result["cpu"] = self.cpu_share(cpu, target.result["requests"])
        if writes:
            after = self.counts()
            target.rows = {k: after[k] - before[k] for k in after}
            target.rows["provider_creates"] = LigdicashStub.creates - creates_before
        r = target.result
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
        hello = next((t.result for t in TARGETS if t.key == "hello" and t.result), None)
        bare = f", {cpu_ms(r) / cpu_ms(hello):.1f}× bare view" if hello and cpu_ms(hello) else ""
        log(
            f"  {r['rps']:.0f} req/s, p50 {r['p50_us'] / 1000:.1f} ms, p99 "
            f"{r['p99_us'] / 1000:.1f} ms, errors {errors}, "
            f"CPU/request app {r['cpu']['app_ms_per_request']:.1f} ms, db "
            f"{r['cpu']['db_ms_per_request']:.1f} ms, load {r['cpu']['load_ms_per_request']:.1f} "
            f"ms{bare}; "
            f"other processes {r['cpu']['other']:.0%} of the machine {target.rows or ''}"
        )

    def hello_again(self, targets: list[Target]) -> dict | None:
        """The bare view measured once more at the end: on a shared machine the
        other load moves during a run, and with it every CPU ms/request; the
        "× bare view" ratios hold only while the bare view's own figure does."""
        first = next((t for t in targets if t.key == "hello" and t.result), None)
        if first is None or len(targets) < 2:
            return None
        again = Target(first.key, first.label, first.method, first.path, first.script)
        self.measure(again)
        return again.result

    def main(self) -> int:
        started = time.monotonic()
        load_start = os.getloadavg()
        self.prepare()
        targets = [t for t in TARGETS if not ONLY or t.key in ONLY or t.key == "hello"]
        for target in targets:
            self.measure(target)
        drift = self.hello_again(targets)
        report = render(targets, self.queries, time.monotonic() - started, load_start, drift)
        (RESULTS / "latest.md").write_text(report)
        (RESULTS / "latest.json").write_text(
            json.dumps(
                {
                    t.key: {**{k: v for k, v in t.result.items() if k != "raw"}, "rows": t.rows}
                    for t in targets
                }
                | {
                    "queries": self.queries,
                    "hello_again": {k: v for k, v in (drift or {}).items() if k != "raw"},
                },
                indent=1,
            )
        )
        (RESULTS / "wrk-latest.txt").write_text(
            "".join(
                f"### {t.key} {t.method} {t.path}\n{t.result.get('raw', '')}\n" for t in targets
            )
        )
        print()
        print(report)
        return 0


# --- the report ------------------------------------------------------------------------
def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def render(
    targets: list[Target],
    queries: dict,
    elapsed: float,
    load_start: tuple[float, float, float],
    drift: dict | None = None,
) -> str:
    hello = next((t.result["rps"] for t in targets if t.key == "hello" and t.result), None)
    hello_cpu = next((cpu_ms(t.result) for t in targets if t.key == "hello" and t.result), None)
    rows = []
    misses = []
    for t in targets:
        r = t.result
        q = [queries.get(k, {}).get("queries") for k in t.query_keys]
        tx = [queries.get(k, {}).get("transaction_control", 0) for k in t.query_keys]
        q_text = " / ".join(
            "?" if n is None else f"{n}" + (f" ({n - c}+{c} tx)" if c else "")
            for n, c in zip(q, tx, strict=True)
        )
        if t.key == "callback":
            q_text = f"{q_text} (new / dup)"
        ratio = r["rps"] / hello if hello else None
        cpu_ratio = cpu_ms(r) / hello_cpu if hello_cpu else None
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
        problems = []
        if t.min_rps and r["rps"] < t.min_rps:
            scaled = t.min_rps * hello / REFERENCE_HELLO if hello else None
            met = scaled is not None and r["rps"] >= scaled
            problems.append(
                f"req/s < {t.min_rps:.0f}"
                + (
                    f" ({'meets' if met else 'misses'} it scaled by this run's hello: ≥ "
                    f"{scaled:.0f})"
                    if scaled
                    else ""
                )
            )
        if t.max_p99_ms and r["p99_us"] / 1000 > t.max_p99_ms:
            problems.append(f"p99 > {t.max_p99_ms:.0f} ms")
        if t.max_p95_ms and r["p95_us"] / 1000 > t.max_p95_ms:
            problems.append(f"p95 > {t.max_p95_ms:.0f} ms")
        if t.max_queries is not None and any(n is None or n > t.max_queries for n in q):
            problems.append(f"queries > {t.max_queries}")
        if t.max_cpu_ratio and cpu_ratio is not None and cpu_ratio > t.max_cpu_ratio:
            problems.append(f"CPU > {t.max_cpu_ratio:g}× bare view")
        if t.min_ratio and ratio is not None and ratio < t.min_ratio:
            problems.append(f"req/s < {t.min_ratio:.2g}× hello")
        if r["status"]:
            problems.append(f"{r['status']} non-2xx/3xx")
        if errors:
            problems.append(f"{errors} socket errors/timeouts")
        if t.key == "checkout" and t.rows.get("orders", 0) < r["requests"]:
            problems.append(f"{t.rows.get('orders', 0)} orders for {r['requests']} requests")
        if t.key == "pay" and t.rows.get("payments", 0) < r["requests"]:
            problems.append(f"{t.rows.get('payments', 0)} attempts for {r['requests']} requests")
        verdict = "ok" if not problems else "**MISS**: " + ", ".join(problems)
        if t.key == "hello":
            verdict = "baseline" if not problems else verdict
        if problems and t.key != "hello":
            misses.append(t.label)
        rows.append(
            f"| {t.label} | {r['rps']:,.0f} | {ms(r['p50_us'])} | {ms(r['p95_us'])} | "
            f"{ms(r['p99_us'])} | {q_text} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {r['cpu']['app_ms_per_request']:.2f} + "
            f"{r['cpu']['db_ms_per_request']:.2f} | "
            f"{'' if cpu_ratio is None else f'{cpu_ratio:.1f}×'} | "
            f"{'—' if not t.max_cpu_ratio else f'≤ {t.max_cpu_ratio:g}×'} | "
            f"{r['cpu']['other']:.0%} | {t.goal} | {t.reference} | {verdict} |"
        )
    writes = []
    for t in targets:
        if t.rows:
            writes.append(
                f"- {t.key}: {t.result['requests']:,} requests → "
                + ", ".join(f"{k} +{v:,}" for k, v in t.rows.items() if v)
            )
    lines = [
        f"# Benchmark — {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"`wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}s --latency` (after a {WARMUP} s warm-up) "
        "against gunicorn on 127.0.0.1, "
        "DEBUG=False, CONN_MAX_AGE=600, PostgreSQL on loopback, 1 000 products in 10 categories, "
        "Ligdicash mocked by a local HTTP stub. "
        "Latencies in ms. Queries: one request of the target, counted with Django's test client "
        "(CaptureQueriesContext, steady state, counted as assertNumQueries counts them; "
        '"a+b tx": a statements plus b BEGIN/COMMIT/ROLLBACK/savepoint). '
        "Ratio: req/s divided by the hello view's req/s in this run. "
        '"× bare view": CPU ms/request (app + db) divided by the hello view\'s in this run; '
        '"CPU goal": its goal (issue 20; the callback also needs ≥ '
        f"{CALLBACK_MIN_RATIO:g}× hello's req/s). "
        "Goals: the shop's budgets; references: a reference box (2 vCPU).",
        "",
        f"Machine: {server_versions()}. Run took {elapsed:.0f} s; 1-min load average "
        f"{load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| Target | req/s | p50 | p95 | p99 | queries | × hello | CPU ms/req app + db "
        "| × bare view | CPU goal | other CPU | Goal | Reference | Verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
        *rows,
        "",
        "Rows written during the measured runs (the checkout must create one order per request, "
        "the payment start one attempt and one provider call per request):",
        "",
        *writes,
        "",
        ("All targets meet their goals." if not misses else "Missed: " + "; ".join(misses) + "."),
        *drift_note(hello_cpu, drift),
        '"CPU ms/req": CPU time per request of gunicorn (app) and of the bench database\'s '
        "PostgreSQL backends (db), "
        "less sensitive to other load than req/s. "
        '"other CPU": share of the machine\'s CPU used during the measured run by processes that '
        "are not this benchmark "
        "(not gunicorn, its database backends, wrk or the stub). Above ~10 % the numbers are not "
        "comparable with the reference box, "
        'which ran nothing else; the "× hello" ratio is the more robust figure then. '
        f'"Scaled by hello": the req/s goal × this run\'s hello req/s / {REFERENCE_HELLO} (the '
        "reference box's hello), "
        "i.e. the goal as a share of what this machine gives the minimal view now.",
        "",
    ]
    return "\n".join(lines)


def drift_note(hello_cpu: float | None, drift: dict | None) -> list[str]:
    """A line on the bare view measured again at the end of the run."""
    if not hello_cpu or not drift:
        return []
    again = cpu_ms(drift)
    change = again / hello_cpu - 1
    verdict = (
        "the ratios hold"
        if abs(change) <= 0.2
        else "more than 20 % apart: the machine's load moved, read the ratios with care"
    )
    return [
        f"Bare view again at the end: {again:.2f} ms CPU/request ({change:+.0%} from the first "
        f"{hello_cpu:.2f} ms, {drift['rps']:,.0f} req/s, {drift['cpu']['other']:.0%} other CPU): "
        f"{verdict}.",
        "",
    ]


def main() -> int:
    if "purchase" in ONLY:  # the whole-purchase scenario (bench/purchase_run.py)
        sys.path.insert(0, str(BASE_DIR))
        from bench import purchase_run

        return purchase_run.main()
    bench = Bench()
    limit = 600 + (len(TARGETS) + 1) * (DURATION + WARMUP + 30)  # + the bare view again

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def on_alarm(signum, frame):
        raise TimeoutError(f"bench: over the {limit} s limit")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        return bench.main()
    except (RuntimeError, TimeoutError, KeyboardInterrupt) as exc:
        log(f"stopped: {exc}")
        return 1
    finally:
        signal.alarm(0)
        bench.stop()


if __name__ == "__main__":
    sys.exit(main())
