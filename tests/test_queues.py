"""Celery queues for many machines (issue 20, item 2): routes, late
acknowledgement only where a task is idempotent, one message at a time, and
the per-provider limit that keeps one provider's burst from starving the others."""

from __future__ import annotations

import pytest
import redis
import yaml
from celery.exceptions import Ignore
from django.conf import settings

from ashtech_store import queues
from ashtech_store.celery import app
from tests.support.deploy import ROOT
from tests.support.factories import make_payment

# The shop's task modules, as a worker imports them (autodiscovery).
app.loader.import_default_modules()

EXPECTED = {
    "payments.tasks.process_callback": "callbacks",
    "payments.tasks.drain_callbacks": "callbacks",
    "payments.tasks.poll_payment": "polling",
    "payments.tasks.poll_first_checks": "polling",
    "backoffice.tasks.send_refund": "refunds",
    "backoffice.tasks.poll_refund": "refunds",
    "shop.tasks.send_order_confirmation": "email",
    "shop.tasks.alert_staff": "email",
    "shop.tasks.send_paid_twice_notice": "email",
    "shop.lookup.send_order_link": "email",
    "shop.images.make_product_images": "images",
    "payments.tasks.sweep_payments": "celery",
    "backoffice.tasks.sweep_refunds": "celery",
    "backoffice.tasks.reconcile_recent": "celery",
}


def routed_queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name, (), {})["queue"].name


@pytest.mark.parametrize("task_name, kind", EXPECTED.items())
def test_each_task_goes_to_the_queue_of_its_kind_named_under_this_runs_default_queue(
    task_name, kind
):
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    expected = default if kind == "celery" else f"{default}.{kind}"
    assert task_name in app.tasks
    assert routed_queue(task_name) == expected


def test_a_shop_on_the_default_queue_uses_the_plain_names():
    assert queues.queue_name("polling", "celery") == "polling"
    assert queues.all_queues("celery") == [
        "callbacks",
        "polling",
        "refunds",
        "email",
        "images",
        "celery",
    ]


def test_every_registered_task_of_the_shop_lands_on_a_queue_a_full_worker_consumes():
    served = set(queues.all_queues())
    ours = [name for name in app.tasks if name.split(".")[0] in {"payments", "backoffice", "shop"}]
    assert ours
    for name in ours:
        assert routed_queue(name) in served, name


def test_only_idempotent_tasks_are_acknowledged_late_and_each_worker_takes_one_message():
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_reject_on_worker_lost is True
    for name in queues.ACKS_LATE:
        assert app.tasks[name].acks_late is True, name
    for name in ("shop.tasks.alert_staff", "shop.lookup.send_order_link"):
        assert app.tasks[name].acks_late is False, name


def test_the_compose_workers_and_the_procfile_serve_every_queue_between_them():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    served: set[str] = set()
    for service in compose["services"].values():
        command = service.get("command") or []
        if "worker" in command:
            served |= set(command[command.index("-Q") + 1].split(","))
    assert served == set(queues.all_queues("celery"))
    procfile = (ROOT / "Procfile.dev").read_text()
    in_procfile = {
        q
        for line in procfile.splitlines()
        if " -Q " in line
        for q in line.split(" -Q ")[1].split()[0].split(",")
    }
    assert in_procfile == set(queues.all_queues("celery"))
    assert sum(" beat" in line or "--beat" in line for line in procfile.splitlines()) == 1


def test_a_provider_over_its_limit_is_refused_while_another_still_gets_through():
    now = 1_000_000.0
    assert all(queues.take_token("ligdicash", 3, now) for _ in range(3))
    assert not queues.take_token("ligdicash", 3, now)
    assert queues.take_token("lygos", 3, now)
    assert queues.take_token("ligdicash", 3, now + 1), "a new second, a new bucket"


@pytest.mark.django_db
def test_a_poll_over_its_providers_limit_is_sent_again_later_and_not_run_now(settings):
    """The task's ``before_start`` (the annotation) takes the token: within the
    limit it lets the poll run; over it, the same poll goes back on the polling
    queue with a short countdown and this run is ignored."""
    settings.CELERY_PROVIDER_RATE_LIMIT = 1
    payment = make_payment(provider="ligdicash")
    task = app.tasks["payments.tasks.poll_payment"]
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = queues.queue_name("polling")
    broker.delete(queue)
    try:
        assert task.before_start("t-1", (payment.pk, None), {}) is None
        with pytest.raises(Ignore):
            task.before_start("t-2", (payment.pk, None), {})
        assert broker.llen(queue) == 1
    finally:
        broker.delete(queue)
