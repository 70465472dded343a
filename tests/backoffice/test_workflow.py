"""Order moves: the table allows exactly its moves and refuses every other."""

import itertools

import pytest
from django.core import mail
from django.utils import timezone

from backoffice.selectors import public_history
from payments.models import PaymentStatus
from shop import workflow
from shop.models import Order, OrderEvent, Product
from tests.support.backoffice import paid_order
from tests.support.factories import make_order, make_payment, make_product

pytestmark = pytest.mark.django_db
S = Order.Status
ALL = [s.value for s in S]


def order_in(status: str) -> Order:
    order = make_order()
    Order.objects.filter(pk=order.pk).update(
        status=status, paid_at=timezone.now() if status != S.PENDING_PAYMENT else None
    )
    order.refresh_from_db()
    return order


@pytest.mark.parametrize(("frm", "to"), list(itertools.product(ALL, ALL)))
def test_staff_moves_follow_the_table_exactly(frm, to):
    order = order_in(frm)
    if workflow.STAFF in workflow.TRANSITIONS.get((frm, to), ()):
        moved = workflow.move(order, to, note="ok")
        assert moved.status == to
        assert OrderEvent.objects.filter(order=order, from_status=frm, to_status=to).count() == 1
    else:
        with pytest.raises(workflow.MoveRefused) as refused:
            workflow.move(order, to)
        assert refused.value.message
        order.refresh_from_db()
        assert order.status == frm
        assert not OrderEvent.objects.filter(order=order).exists()


def test_a_paid_order_is_cancelled_only_through_a_refund():
    order = order_in(S.PAID)
    with pytest.raises(workflow.MoveRefused, match="remboursement"):
        workflow.move(order, S.CANCELLED)
    assert workflow.move(order, S.CANCELLED, actor=workflow.REFUND).status == S.CANCELLED


def test_cancelling_an_unpaid_order_releases_its_stock_once_and_ends_the_attempt():
    product = make_product(stock=5)
    order = make_order((product, 2))
    payment = make_payment(order)
    assert Product.objects.get(pk=product.pk).stock == 3

    workflow.move(order, S.CANCELLED, note="client parti")

    assert Product.objects.get(pk=product.pk).stock == 5
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    with pytest.raises(workflow.MoveRefused):
        workflow.move(order, S.CANCELLED)
    assert Product.objects.get(pk=product.pk).stock == 5


def test_shipping_emails_the_shopper_and_the_history_shows_no_staff_names(
    django_user_model, django_capture_on_commit_callbacks
):
    staff = django_user_model.objects.create_user("awa", is_staff=True)
    order, _payment = paid_order()  # paid through the payment engine: its "paid" move recorded
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.move(order, S.SHIPPED, by=staff, note="colis 42")
    workflow.move(order, S.DELIVERED, by=staff)

    assert [m.to for m in mail.outbox] == [[order.email]]
    assert order.number in mail.outbox[0].subject
    history = public_history(order)
    assert history == ["Payée", "Expédiée", "Livrée"]
    assert "awa" not in " ".join(history) and "colis" not in " ".join(history)


def test_order_page_include_renders_the_history():
    from django.template.loader import render_to_string

    html = render_to_string("shop/_order_events.html", {"order_history": ["Payée", "Expédiée"]})
    assert "Payée → Expédiée" in html


def test_manage_py_order_moves_and_refuses(capsys):
    from django.core.management import CommandError, call_command

    order = order_in(S.PAID)
    call_command("order", "ship", order.number)
    assert Order.objects.get(pk=order.pk).status == S.SHIPPED
    with pytest.raises(CommandError):
        call_command("order", "cancel", order.number)
    assert "remboursement" in capsys.readouterr().err
    assert Order.objects.get(pk=order.pk).status == S.SHIPPED


def test_every_status_writer_goes_through_the_one_setter():
    """Only ``shop.workflow.set_status`` writes ``Order.status`` in the shop's
    code: no ``.status =`` on an order and no ``status=`` update elsewhere."""
    import ast
    import pathlib

    offenders = []
    root = pathlib.Path(__file__).resolve().parents[2]
    for app in ("shop", "payments", "backoffice"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts or "sandbox" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and target.attr == "status"
                            and isinstance(target.value, ast.Name)
                            and target.value.id in ("order", "locked", "o")
                        ):
                            offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == ["shop/workflow.py:" + str(_setter_line(root))]


def _setter_line(root) -> int:
    source = (root / "shop" / "workflow.py").read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if line.strip() == "order.status = to")


def test_every_move_of_a_payment_driven_order_leaves_an_event():
    order, payment = paid_order()
    moves = list(
        OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor")
    )
    assert moves == [(S.PENDING_PAYMENT, S.PAID, "payment")]
