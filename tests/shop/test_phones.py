"""The one phone normaliser (``shop.phones``): every country the shop serves,
typed the usual ways, and every refusal with its message."""

import pytest
from django.test import override_settings
from django.utils import translation

from shop import phones
from shop.templatetags.shop_tags import local_phone

# A mobile number per served country: as typed at home, E.164, as shown back.
SERVED = [
    ("BF", "70 12 34 56", "+22670123456", "70 12 34 56"),
    ("CI", "01 23 45 6789", "+2250123456789", "01 23 45 67 89"),
    ("SN", "70 123 45 67", "+221701234567", "70 123 45 67"),
    ("ML", "65 01 23 45", "+22365012345", "65 01 23 45"),
    ("BJ", "01 95 12 34 56", "+2290195123456", "01 95 12 34 56"),
    ("TG", "90 11 23 45", "+22890112345", "90 11 23 45"),
    ("NE", "93 12 34 56", "+22793123456", "93 12 34 56"),
    ("GN", "601 12 34 56", "+224601123456", "601 12 34 56"),
    ("CM", "6 71 23 45 67", "+237671234567", "6 71 23 45 67"),
    ("GA", "06 03 12 34", "+24106031234", "06 03 12 34"),
    ("CG", "06 123 4567", "+242061234567", "06 123 4567"),
]


@pytest.mark.parametrize(("country", "typed", "e164", "shown"), SERVED)
def test_every_served_country_round_trips(country, typed, e164, shown):
    assert phones.normalise(typed, country, [country]) == e164
    assert phones.normalise(e164, country, [country]) == e164
    assert phones.normalise("00" + e164[1:], country, [country]) == e164
    assert phones.local(e164) == shown


@pytest.mark.parametrize(
    "typed",
    [
        "+226 70 12 34 56",
        "0022670123456",
        "70-12-34-56",
        "７０１２３４５６",
        "+226\u200b70123456",
        " 70 12 34 56 ",
    ],
)
def test_the_usual_ways_of_typing_a_number(typed):
    assert phones.normalise(typed, "BF", ["BF"]) == "+22670123456"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("70 12 ab 56", "Le numéro de téléphone ne doit contenir que des chiffres."),
        ("+", "Numéro de téléphone invalide."),
        ("", "Numéro de téléphone invalide."),
        ("12", "Numéro de téléphone invalide pour ce pays (par exemple 70 12 34 56)."),
        ("70 12\x0034 56", "Numéro de téléphone invalide."),
        ("7" * 31, "Numéro de téléphone invalide."),
        ("+225 07 07 12 34 56", "Ce numéro n'est pas un numéro du pays choisi."),
        ("+33 6 12 34 56 78", "Nous ne livrons pas ce pays."),
    ],
)
def test_refusals_say_why(typed, message):
    with pytest.raises(phones.InvalidPhone) as refused:
        phones.normalise(typed, "BF", ["BF"])

    assert str(refused.value) == message


def test_no_allowed_regions_accepts_any_valid_number():
    assert phones.normalise("+33 6 12 34 56 78", "BF") == "+33612345678"


def test_a_payment_method_refuses_with_its_own_message():
    refused = "Ce moyen de paiement n'accepte que les numéros de : %(countries)s."

    with pytest.raises(phones.InvalidPhone, match=r"numéros de : GN\.$"):
        phones.normalise("70 12 34 56", "BF", ("GN",), refused=refused)
    assert phones.normalise("620 12 45 78", "GN", ("GN",), refused=refused) == "+224620124578"


@override_settings(SHOP_COUNTRIES=["BF"])
def test_a_country_the_shop_stopped_serving_is_not_delivered():
    with pytest.raises(phones.InvalidPhone, match="Nous ne livrons pas ce pays"):
        phones.normalise("+221 70 123 45 67", "BF", ["BF"])


def test_messages_follow_the_language():
    with translation.override("en"), pytest.raises(phones.InvalidPhone) as refused:
        phones.normalise("70 12 ab 56", "BF", ["BF"])

    assert "ne doit" not in str(refused.value)


@pytest.mark.parametrize("raw", ["", None, "not a number", "+2261"])
def test_local_returns_what_it_cannot_read(raw):
    assert phones.local(raw) == (raw or "")


def test_the_template_filter_is_the_same_function():
    assert local_phone("+22670123456") == "70 12 34 56"
    assert local_phone(None) == ""
