"""What the migrations seed (the staff groups and their permissions, the
shop's pages) survives the flush of a transactional test (a plugin of
tests/conftest.py).

A transactional test (``transaction=True``, ``live_server``) ends with a
``flush``: every table is emptied, and ``post_migrate`` recreates the content
types and permissions only. In one process pytest-django runs those tests
last, so nothing after them needed the seeds; with ``pytest -n`` a worker
runs its files in turn, and a test after a flush would find no "Caisse" group
and no "livraison" page. The seeds are read once, right after the test
database is migrated, and put back after any test that left them gone —
by natural keys, since the recreated permissions have new ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

SNAPSHOT_KEY = pytest.StashKey["Seeds"]()


@dataclass
class Seeds:
    groups: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    pages: list[dict] = field(default_factory=list)

    @classmethod
    def read(cls) -> Seeds:
        from django.contrib.auth.models import Group

        from shop.models import Page

        groups = {
            group.name: sorted(
                (perm.content_type.app_label, perm.codename)
                for perm in group.permissions.select_related("content_type")
            )
            for group in Group.objects.all()
        }
        pages = [
            {f.attname: getattr(page, f.attname) for f in Page._meta.concrete_fields}
            for page in Page.objects.all()
        ]
        return cls(groups, pages)

    def restore(self) -> None:
        """Put back whatever a flush removed (nothing if it is all there)."""
        from django.contrib.auth.models import Group, Permission
        from django.db import transaction

        from shop.models import Page

        with transaction.atomic():
            if self.groups and not Group.objects.exists():
                perms = {
                    (p.content_type.app_label, p.codename): p
                    for p in Permission.objects.select_related("content_type")
                }
                for name, keys in self.groups.items():
                    group = Group.objects.create(name=name)
                    group.permissions.set([perms[key] for key in keys if key in perms])
            if self.pages and not Page.objects.exists():
                Page.objects.bulk_create(Page(**values) for values in self.pages)


@pytest.fixture(scope="session", autouse=True)
def _migration_seeds(request, django_db_setup, django_db_blocker):
    """Read the seeds once the test database exists."""
    with django_db_blocker.unblock():
        request.config.stash[SNAPSHOT_KEY] = Seeds.read()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """After every fixture's teardown (so after the flush), restore the seeds
    a transactional test took away (two queries when nothing is missing)."""
    result = yield
    seeds = item.config.stash.get(SNAPSHOT_KEY, None)
    # After the last test the session's fixtures are gone, the database too.
    if seeds is not None and nextitem is not None:
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            from django.db import connection

            if not connection.in_atomic_block:
                seeds.restore()
    return result
