"""Query budgets of the shopper pages.

Each page is measured with 2 and with 24 items: the count must stay under the
budget *and* be the same for both, so it does not grow with the data (no
N+1). The cache is cleared before each measurement, so the header's category
query is counted: the budget holds on a cold cache too.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support.factories import make_category, make_order, make_product
from tests.support.shop import add_to_cart

pytestmark = pytest.mark.django_db


def queries_for(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def fill_catalogue(category, up_to: int) -> None:
    for _ in range(up_to - category.products.count()):
        make_product(category=category, stock=2)


@pytest.fixture
def category():
    return make_category("Téléphones")


@pytest.mark.parametrize(
    ("page", "budget"),
    [("products", 6), ("category", 6), ("search", 6), ("home", 6)],
)
def test_catalogue_pages_keep_a_constant_query_count(
    client, category, django_assert_max_num_queries, page, budget
):
    def url():
        return {
            "products": reverse("shop:products"),
            "category": reverse("shop:category", args=[category.slug]),
            "search": reverse("shop:products") + "?q=produit&sort=price",
            "home": reverse("shop:home"),
        }[page]

    fill_catalogue(category, 2)
    with_two = queries_for(client, url())
    fill_catalogue(category, 24)
    cache.clear()
    with django_assert_max_num_queries(budget):
        response = client.get(url())
    with_24 = queries_for(client, url())

    assert len(
        response.context["products"] if page != "home" else response.context["featured"]
    ) == (24 if page != "home" else 8)
    assert with_two == with_24


def test_product_page_query_count_does_not_depend_on_the_catalogue(
    client, category, django_assert_max_num_queries
):
    fill_catalogue(category, 2)
    product = category.products.first()
    with_two = queries_for(client, product.get_absolute_url())
    fill_catalogue(category, 24)
    cache.clear()

    with django_assert_max_num_queries(6):
        client.get(product.get_absolute_url())

    assert queries_for(client, product.get_absolute_url()) == with_two


def test_cart_page_query_count_does_not_depend_on_the_number_of_lines(
    client, category, django_assert_max_num_queries
):
    fill_catalogue(category, 24)
    products = list(category.products.all())
    for product in products[:2]:
        add_to_cart(client, product)
    with_two = queries_for(client, reverse("shop:cart"))
    for product in products[2:5]:
        add_to_cart(client, product)
    cache.clear()

    with django_assert_max_num_queries(8):
        response = client.get(reverse("shop:cart"))
    assert len(response.context["lines"]) == 5

    for product in products[5:]:
        add_to_cart(client, product)
    assert queries_for(client, reverse("shop:cart")) == with_two


class QueriesWhileRendering:
    """Collect the SQL run from the moment the view's template starts rendering.

    Sound because: the test client instruments ``Template._render`` to send
    ``template_rendered`` as each template starts, and our views call
    ``render()`` as their very last step. Every query after the first signal
    therefore comes from the template (a lazy queryset, a related object
    reached from a loop, a property that queries) or from the response
    middleware, which must not query either. Context processors run just
    before the signal, as part of the view's up-front work. The wrapper is
    Django's public ``connection.execute_wrapper`` and records, rather than
    blocks, so a failure shows the SQL.
    """

    def __init__(self):
        self.rendering = False
        self.sql: list[str] = []

    def _started(self, **kwargs):
        self.rendering = True

    def _wrapper(self, execute, sql, params, many, context):
        if self.rendering and not self._saves_the_session(sql):
            self.sql.append(sql)
        return execute(sql, params, many, context)

    @staticmethod
    def _saves_the_session(sql: str) -> bool:
        """Sessions live in the database: SessionMiddleware saves a
        changed one after rendering. That write is the session's, not the
        template's, and is not counted."""
        return "django_session" in sql or sql.lstrip().upper().startswith(
            ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
        )

    def get(self, client, url):
        self.rendering, self.sql = False, []
        cache.clear()
        template_rendered.connect(self._started)
        try:
            with connection.execute_wrapper(self._wrapper):
                response = client.get(url)
        finally:
            template_rendered.disconnect(self._started)
        assert response.status_code == 200
        assert self.rendering, "no template was rendered"
        return response


def test_templates_render_without_any_query(client, category):
    fill_catalogue(category, 24)
    product = category.products.first()
    for p in category.products.all()[:5]:
        add_to_cart(client, p)
    watcher = QueriesWhileRendering()

    for url in [
        reverse("shop:home"),
        reverse("shop:products"),
        reverse("shop:products") + "?q=produit&page=1",
        reverse("shop:category", args=[category.slug]),
        product.get_absolute_url(),
        reverse("shop:cart"),
        reverse("shop:checkout"),
    ]:
        watcher.get(client, url)
        assert watcher.sql == [], url


def test_order_page_renders_without_any_query(client):
    order = make_order(*((make_product(), 1) for _ in range(5)))
    watcher = QueriesWhileRendering()

    watcher.get(client, order.get_absolute_url())

    assert watcher.sql == []


def test_the_render_watcher_catches_a_query_made_by_a_template(client):
    """The method itself is checked: the admin index's template queries
    (its "recent actions" tag reads the log), and the watcher sees it."""
    client.force_login(get_user_model().objects.create_user("staff", is_staff=True))
    watcher = QueriesWhileRendering()

    watcher.get(client, reverse("admin:index"))

    assert any("django_admin_log" in sql for sql in watcher.sql), watcher.sql
