"""The shop's e-mails leave from the worker (``shop.tasks``), and outside the
e2e tests no worker consumes this run's queue. The ``queued_mail`` fixture
records the e-mail tasks the code publishes (Celery's ``before_task_publish``
signal: the message still goes to the broker) and ``run()`` executes them
here, as the worker would (a plugin of tests/conftest.py).
"""

from __future__ import annotations

import pytest
from celery import current_app
from celery.signals import before_task_publish

MAIL_TASKS = {
    "shop.tasks.send_order_confirmation",
    "shop.tasks.alert_staff",
    "shop.tasks.send_paid_twice_notice",
    "shop.tasks.send_delivery_notice",
}


class QueuedMail:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def record(self, sender=None, body=None, **_) -> None:
        if sender in MAIL_TASKS:
            args, kwargs, _embed = body
            self.calls.append((sender, tuple(args), dict(kwargs)))

    def names(self) -> list[str]:
        return [name.rsplit(".", 1)[1] for name, _, _ in self.calls]

    def run(self) -> int:
        """Run every e-mail task queued so far; returns how many ran."""
        calls, self.calls = self.calls, []
        for name, args, kwargs in calls:
            current_app.tasks[name].apply(args, kwargs).get()
        return len(calls)


@pytest.fixture
def queued_mail():
    queue = QueuedMail()
    before_task_publish.connect(queue.record, weak=False)
    yield queue
    before_task_publish.disconnect(queue.record)
