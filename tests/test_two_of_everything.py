"""Two of everything (issue 20, item 4): two gunicorn processes (the
production image's configuration, fewer threads) and two Celery workers,
each serving every queue (one also runs the beat), against one PostgreSQL
and one Redis. Shoppers buy at once through both web processes; the
provider stub sends each callback to the other one in turn. Then the
invariants: every order paid or released, no payment pending, no oversell,
exactly one confirmation e-mail per paid order; and a small flash sale."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from ashtech_store.queues import all_queues
from bench import purchase
from shop.models import Product
from tests.conftest import _close_other_connections
from tests.support.factories import make_product

ROOT = Path(settings.BASE_DIR)
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """The processes of the run, each in its own process group, all stopped at the end."""

    def __init__(self, stub_url: str, mail_dir: str):
        db = connection.settings_dict
        self.ports = [_free_port(), _free_port()]
        self.bases = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.tmp = tempfile.mkdtemp(prefix="ashtech-scale-")
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.scale_settings",
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            TEST_CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
            SCALE_SITE_URL=self.bases[0],
            SCALE_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
            SCALE_MAIL_DIR=mail_dir,
            STUB_PROVIDER_URL=stub_url,
        )
        self.procs: list[subprocess.Popen] = []

    def _start(self, name: str, args: list[str]) -> None:
        self.procs.append(
            subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=open(f"{self.tmp}/{name}.log", "w"),  # noqa: SIM115
            )
        )

    def start(self) -> None:
        queues = ",".join(all_queues(settings.CELERY_TASK_DEFAULT_QUEUE))
        for n, port in enumerate(self.ports):
            self._start(
                f"web{n}",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:ashtech_store.gunicorn_conf",
                    f"--bind=127.0.0.1:{port}",
                    "--workers=1",
                    "--threads=4",
                    "--access-logfile=/dev/null",
                    "ashtech_store.wsgi",
                ],
            )
        for n in range(2):
            beat = ["--beat", "--schedule", f"{self.tmp}/beat"] if n == 0 else []
            self._start(
                f"worker{n}",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "ashtech_store",
                    "worker",
                    "-Q",
                    queues,
                    "-n",
                    f"scale{n}-{os.getpid()}@%h",
                    "--pool",
                    "threads",
                    "-c",
                    "4",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "WARNING",
                    *beat,
                ],
            )
        deadline = time.monotonic() + 60
        for base in self.bases:
            while True:
                assert time.monotonic() < deadline, self.logs()
                assert all(p.poll() is None for p in self.procs), self.logs()
                try:
                    if requests.get(base + "/health/", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.3)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(Path(self.tmp).glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def stack():
    mail_dir = tempfile.mkdtemp(prefix="ashtech-scale-mail-")
    stub = purchase.ProviderStub(callback_delay=0.5).start()
    processes = Stack(stub.url, mail_dir)
    stub.shops = list(reversed(processes.bases))  # callbacks alternate between the two
    processes.mail_dir = mail_dir
    processes.stub = stub
    try:
        processes.start()
        yield processes
    finally:
        processes.stop()
        stub.stop()
        _close_other_connections()
        shutil.rmtree(mail_dir, ignore_errors=True)


def test_two_web_processes_and_two_workers_sell_concurrently_with_every_invariant(stack):
    phones = make_product(name="Tecno Spark 20", price=15000, stock=50)
    radios = make_product(name="Itel Radio", price=5000, stock=50)
    last_units = make_product(name="Infinix Hot 40", price=90000, stock=3)
    initial = {p.pk: p.stock for p in (phones, radios, last_units)}

    outcomes = purchase.crowd(
        stack.bases, [(phones.slug, phones.pk), (radios.slug, radios.pk)], 12, 6
    )
    flash = purchase.crowd(stack.bases, [(last_units.slug, last_units.pk)], 8, 8, first=100)

    assert [o.error for o in outcomes + flash if o.error] == [], stack.logs()
    assert all(o.started for o in outcomes)
    assert sum(o.started for o in flash) == 3
    assert all(o.told for o in flash if o.sold_out), "every shopper who missed out was told"
    assert purchase.told_summary(flash)["not_told"] == {}, [o.seen for o in flash if o.untold]
    assert purchase.wait_until_settled(90), stack.logs()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the confirmation e-mails leave after the commit
        report = purchase.invariants(initial, stack.mail_dir)
        if not purchase.broken(report):
            break
        time.sleep(0.5)
    assert purchase.broken(report) == [], (report, purchase.mails_to(stack.mail_dir), stack.logs())
    assert report["paid"] == 15
    assert Product.objects.get(pk=last_units.pk).stock == 0
    assert stack.stub.callback_failures == 0
