from django.urls import path

from . import (
    converters,  # noqa: F401 - registers <token:…>
    lookup,
    views,
)

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("produits/", views.product_list, name="products"),
    path("categorie/<slug:slug>/", views.product_list, name="category"),
    path("produit/<slug:slug>/", views.product_detail, name="product"),
    path("panier/", views.cart_detail, name="cart"),
    path("panier/ajouter/", views.cart_add, name="cart_add"),
    path("panier/retirer/", views.cart_remove, name="cart_remove"),
    path("panier/modifier/", views.cart_update, name="cart_update"),
    path("commande/", views.checkout, name="checkout"),
    path("commande/<token:token>/", views.order_detail, name="order"),
    path(
        "commande/<token:token>/payer-a-la-livraison/",
        views.switch_to_pay_on_delivery,
        name="switch_to_pay_on_delivery",
    ),
    path("mes-commandes/", lookup.my_orders, name="my_orders"),
    path("mes-commandes/retrouver/", lookup.order_lookup, name="order_lookup"),
    path("mes-commandes/lien/", lookup.order_link_request, name="order_link_request"),
    path("mes-commandes/lien/<str:signed>/", lookup.order_link, name="order_link"),
    path("livraison/zone/", views.delivery_area, name="delivery_area"),
    path("page/<slug:slug>/", views.page, name="page"),
]
