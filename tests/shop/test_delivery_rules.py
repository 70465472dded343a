"""The delivery rules as tables, without a database (``shop.delivery``)."""

from __future__ import annotations

import pytest

from shop.delivery import (
    Area,
    ChoiceRefused,
    Point,
    Rate,
    Table,
    choose,
    cod_refusal,
    fee_for,
    line_for,
    options_for,
    points_for,
)

AREAS = {
    1: Area(1, None, "BF", "country", "Burkina Faso"),
    2: Area(2, 1, "BF", "city", "Ouagadougou"),
    3: Area(3, 2, "BF", "district", "Secteur 15"),
    4: Area(4, 2, "BF", "district", "Secteur 30"),
    5: Area(5, 1, "BF", "city", "Bobo-Dioulasso"),
    6: Area(6, None, "SN", "city", "Dakar"),
    7: Area(7, 6, "SN", "district", "Plateau"),
    8: Area(8, None, "GN", "city", "Conakry"),
}
COUNTRY_HOME = Rate(10, 1, "home", "Domicile", 3000, delay_min=2, delay_max=5)
OUAGA_HOME = Rate(
    11, 2, "home", "Domicile", 1500, free_over=200_000, cod_allowed=True, cod_max=300_000
)
S15_HOME = Rate(12, 3, "home", "Domicile", 1000, delay_min=0, delay_max=1)
OUAGA_PICKUP = Rate(13, 2, "pickup", "Retrait", 0)
DAKAR_PICKUP = Rate(14, 6, "pickup", "Retrait", 0, cod_allowed=True)
TABLE = Table(
    areas=AREAS,
    rates=(COUNTRY_HOME, OUAGA_HOME, S15_HOME, OUAGA_PICKUP, DAKAR_PICKUP),
    points=(Point(20, 4, "Ouaga 2000", "Avenue"), Point(21, 7, "Relais Plateau", "Rue")),
)


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        (3, [12, 13]),  # the neighbourhood's own home rate wins; pickup from the city
        (4, [11, 13]),  # no rate of its own: the city's
        (2, [11, 13]),
        (5, [10]),  # a city without rates: the country's
        (1, [10]),
        (7, [14]),  # Dakar has pickup only
        (8, []),  # Conakry: nothing anywhere up its tree
        (99, []),  # unknown area
    ],
)
def test_the_most_specific_area_wins_per_mode(area, expected):
    assert [r.id for r in options_for(area, TABLE)] == expected


@pytest.mark.parametrize(
    ("rate", "goods", "fee"),
    [
        (OUAGA_HOME, 0, 1500),
        (OUAGA_HOME, 199_999, 1500),
        (OUAGA_HOME, 200_000, 0),  # free from the threshold on
        (OUAGA_HOME, 500_000, 0),
        (S15_HOME, 10_000_000, 1000),  # no threshold: always the fee
        (OUAGA_PICKUP, 5000, 0),
    ],
)
def test_free_over_threshold(rate, goods, fee):
    assert fee_for(rate, goods) == fee


@pytest.mark.parametrize(
    ("rate", "total", "refused"),
    [
        (OUAGA_HOME, 300_000, ""),  # at the cap: allowed
        (OUAGA_HOME, 300_001, "jusqu'à 300"),
        (DAKAR_PICKUP, 10_000_000, ""),  # no cap
        (S15_HOME, 1000, "n'est pas proposé"),
    ],
)
def test_pay_on_delivery_cap(rate, total, refused):
    message = cod_refusal(rate, total)
    assert (refused in message) if refused else message == ""


def test_a_pickup_option_lists_the_points_inside_its_area():
    assert [p.id for p in points_for(OUAGA_PICKUP, 3, TABLE)] == [20]
    assert [p.id for p in points_for(DAKAR_PICKUP, 7, TABLE)] == [21]


@pytest.mark.parametrize(
    ("area", "country", "option", "cod", "message"),
    [
        (None, "BF", "home:11", False, "Choisissez votre ville"),
        (7, "BF", "pickup:14:21", False, "pas dans le pays choisi"),
        (8, "GN", "home:11", False, "ne livrons pas encore à Conakry"),
        (3, "BF", "home:11", False, "option de livraison proposée"),  # the city's rate, overridden
        (3, "BF", "pickup:13:21", False, "point de retrait de votre zone"),  # Dakar's point
        (3, "BF", "pickup:13:", False, "point de retrait de votre zone"),
        (3, "BF", "home:12", True, "n'est pas proposé"),
        (3, "BF", "'; DROP", False, "option de livraison proposée"),
    ],
)
def test_bad_choices_get_a_french_message(area, country, option, cod, message):
    with pytest.raises(ChoiceRefused) as refused:
        choose(TABLE, area, country, option, cod, "")
    assert message in refused.value.message


def test_a_good_choice_carries_the_area_label_and_point():
    choice = choose(TABLE, 3, "BF", "pickup:13:20", False, "près du marché")
    assert (choice.area_label, choice.point.id, choice.rate.fee) == (
        "Secteur 15, Ouagadougou",
        20,
        0,
    )


@pytest.mark.parametrize(
    ("area", "goods", "text"),
    [
        (3, 0, "Livraison à Secteur 15 : 1\u202f000\u00a0FCFA, 0–1 jours · retrait gratuit"),
        (4, 250_000, "Livraison à Secteur 30 : gratuite, 1–2 jours · retrait gratuit"),
        (8, 0, "Pas encore de livraison à Conakry."),
        (None, 0, "Livraison dès 1\u202f000\u00a0FCFA · Retrait gratuit à Ouaga 2000"),
    ],
)
def test_the_line_product_and_cart_pages_show(area, goods, text):
    assert line_for(area, TABLE, goods)["text"] == text


def test_no_delivery_data_means_no_line():
    assert line_for(None, Table(), 0) is None
