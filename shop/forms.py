"""Shopper-facing forms. Every bad input becomes a message in the page."""

from __future__ import annotations

import re

import phonenumbers
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import phones
from .models import DeliveryArea
from .text import clean_text

ASCII_QUANTITY = re.compile(r"^[0-9]{1,3}$")
LANDMARK_MAX = 200


class QuantityField(forms.CharField):
    """A whole quantity typed with ASCII digits, 1…CART_MAX_QUANTITY.

    Stricter than IntegerField on purpose: "1.5", "1e3", "０１" (full-width)
    and 20-digit numbers are refused, not coerced.
    """

    default_error_messages = {
        "invalid": _("Saisissez une quantité entière entre 1 et %(max)s."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("initial", "1")
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        maximum = settings.CART_MAX_QUANTITY
        if not ASCII_QUANTITY.match(value or "") or not 1 <= int(value) <= maximum:
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"max": maximum}
            )
        return int(value)


class ProductIdField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not (value or "").isascii() or not value.isdigit() or len(value) > 18:
            raise forms.ValidationError(_("Produit inconnu."), code="invalid")
        return int(value)


class AddToCartForm(forms.Form):
    product_id = ProductIdField(max_length=20, widget=forms.HiddenInput)
    quantity = QuantityField(
        label=_("Quantité"),
        widget=forms.NumberInput(attrs={"min": 1, "max": 99, "inputmode": "numeric"}),
    )


class RemoveFromCartForm(forms.Form):
    product_id = ProductIdField(max_length=20, widget=forms.HiddenInput)


COUNTRY_NAMES = {
    "BF": _("Burkina Faso"),
    "CI": _("Côte d'Ivoire"),
    "SN": _("Sénégal"),
    "ML": _("Mali"),
    "BJ": _("Bénin"),
    "TG": _("Togo"),
    "NE": _("Niger"),
    "GN": _("Guinée"),
    "CM": _("Cameroun"),
    "GA": _("Gabon"),
    "CG": _("Congo"),
    "CD": _("RD Congo"),
    "GW": _("Guinée-Bissau"),
}
# "un numéro de Côte d'Ivoire", "un numéro du Sénégal".
OF_COUNTRY = {
    "BF": _("du Burkina Faso"),
    "CI": _("de Côte d'Ivoire"),
    "SN": _("du Sénégal"),
    "ML": _("du Mali"),
    "BJ": _("du Bénin"),
    "TG": _("du Togo"),
    "NE": _("du Niger"),
    "GN": _("de Guinée"),
    "CM": _("du Cameroun"),
    "GA": _("du Gabon"),
    "CG": _("du Congo"),
    "CD": _("de RD Congo"),
    "GW": _("de Guinée-Bissau"),
}


def country_name(code: str) -> str:
    return str(COUNTRY_NAMES.get(code, code))


def country_choices(codes=None):
    codes = settings.SHOP_COUNTRIES if codes is None else codes
    return [(code, country_name(code)) for code in codes]


def phone_example(country: str, international: bool = False) -> str:
    """A mobile number of ``country`` as people write it (``70 12 34 56``)."""
    number = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if number is None:
        return ""
    if international:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phones.local(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


class OfferedChoiceField(forms.ChoiceField):
    """Radio buttons whose value ``shop.delivery.choose`` checks, so a
    refused value gets its own message (a point of another area, an option
    of another neighbourhood) rather than "not one of the choices"."""

    def validate(self, value):
        forms.Field.validate(self, value)


class CheckoutForm(forms.Form):
    field_order = [
        "full_name",
        "email",
        "country",
        "phone",
        "delivery",
        "landmark",
        "address",
        "payment_mode",
        "note",
    ]

    full_name = forms.CharField(
        label=_("Nom complet"),
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Adresse e-mail"),
        max_length=254,
        error_messages={
            "invalid": _("Saisissez une adresse e-mail valide, par exemple awa@exemple.com.")
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    country = forms.ChoiceField(
        label=_("Pays"),
        choices=country_choices,
        error_messages={
            "invalid_choice": _(
                "Nous n'encaissons pas encore de paiement depuis ce pays : choisissez-en un "
                "dans la liste."
            ),
            "required": _("Choisissez votre pays."),
        },
    )
    phone = forms.CharField(
        label=_("Téléphone"),
        max_length=30,
        help_text=_("Par exemple 70 12 34 56 ou +226 70 12 34 56."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    address = forms.CharField(
        label=_("Adresse de livraison (facultative)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Note (facultative)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Delivery (shop.delivery): present only when the shop has delivery areas.
    area = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20)
    delivery = OfferedChoiceField(
        label=_("Livraison"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez une option de livraison."),
            "invalid_choice": _("Choisissez une option de livraison proposée pour votre quartier."),
        },
    )
    landmark = forms.CharField(
        label=_("Repère (facultatif)"),
        max_length=LANDMARK_MAX,
        required=False,
        help_text=_("Par exemple : près de la pharmacie du marché, portail bleu."),
        error_messages={
            "max_length": _("Le repère est trop long : %(limit_value)d caractères au plus.")
        },
    )
    payment_mode = forms.ChoiceField(
        label=_("Paiement"),
        widget=forms.RadioSelect,
        required=False,
        choices=[
            ("online", _("Payer maintenant (mobile money ou carte)")),
            ("cod", _("Payer à la livraison — espèces ou mobile money")),
        ],
        initial="online",
        error_messages={"invalid_choice": _("Choisissez comment payer.")},
    )
    # A double-submit guard the shopper can neither see nor fix: a tampered
    # value (too long, NUL byte…) is dropped in clean_checkout_key, never an
    # invisible error that would block the form.
    checkout_key = forms.Field(widget=forms.HiddenInput, required=False)

    def __init__(
        self, *args, countries=None, country=None, delivery=None, area_id=None, goods=0, **kwargs
    ):
        """``countries``: those the shopper may pick (the ones that can pay,
        ``payments.offers.payable_countries``; all the shop's by default);
        ``country``: the one chosen before, else the shop's own;
        ``delivery``: the delivery table (``shop.delivery.table()``) when the
        shop has one, with the shopper's ``area_id`` and the ``goods`` amount."""
        super().__init__(*args, **kwargs)
        self.delivery_table = delivery
        self.delivery_rows = []
        self.offers_cod = False
        if delivery:
            from . import delivery as rules

            area = delivery.areas.get(area_id)
            if area is not None:
                country = area.country
                self.fields["area"].initial = area.id
                self.delivery_rows = rules.choices(area.id, delivery, goods)
            self.fields["delivery"].choices = [
                (r["value"], _choice_label(r)) for r in self.delivery_rows
            ]
            if len(self.delivery_rows) == 1:
                self.fields["delivery"].initial = self.delivery_rows[0]["value"]
            # Offered only where an option allows it; still read when posted,
            # so a refused choice gets its message instead of being ignored.
            self.offers_cod = any(r["cod"] for r in self.delivery_rows)
            self.fields["address"].label = _("Rue, porte, bâtiment (facultatif)")
        else:
            for name in ("area", "delivery", "landmark", "payment_mode"):
                del self.fields[name]
        self.countries = list(settings.SHOP_COUNTRIES if countries is None else countries)
        field = self.fields["country"]
        field.choices = country_choices(self.countries)
        preferred = [country, settings.SHOP_COUNTRY, *self.countries]
        field.initial = next((c for c in preferred if c in self.countries), None)
        unpaid = [c for c in settings.SHOP_COUNTRIES if c not in self.countries]
        if unpaid:
            field.help_text = _(
                "Nous n'encaissons pas encore de paiement depuis : %(countries)s."
            ) % {"countries": ", ".join(country_name(c) for c in unpaid)}
        if not self.countries:
            field.help_text = _(
                "Le paiement en ligne n'est pas disponible pour le moment : revenez plus tard "
                "ou contactez-nous."
            )
        if field.initial:
            self.fields["phone"].help_text = _("Par exemple %(local)s ou %(international)s.") % {
                "local": phone_example(field.initial),
                "international": phone_example(field.initial, international=True),
            }

    def clean_full_name(self):
        name = clean_text(self.cleaned_data["full_name"])
        if len(name) < 2:
            raise forms.ValidationError(_("Indiquez votre nom complet."))
        return name

    def clean_address(self):
        return clean_text(self.cleaned_data.get("address", ""))

    def clean_note(self):
        return clean_text(self.cleaned_data.get("note", ""))

    def clean_landmark(self):
        return clean_text(self.cleaned_data.get("landmark", ""))

    def clean_checkout_key(self):
        key = self.cleaned_data.get("checkout_key")
        return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key) else ""

    def clean(self):
        data = super().clean()
        raw, country = data.get("phone"), data.get("country")
        if raw and country:
            try:
                data["phone"] = phones.normalise(raw, country, [country])
            except phones.InvalidPhone as exc:
                self.add_error("phone", self._phone_problem(raw, country, str(exc)))
        if self.delivery_table and country and data.get("delivery"):
            self._clean_delivery(data, country)
        return data

    def _clean_delivery(self, data: dict, country: str) -> None:
        """The delivery choice checked against the table (``shop.delivery.choose``)."""
        from . import delivery as rules

        raw_area = data.get("area") or ""
        try:
            data["delivery_choice"] = rules.choose(
                self.delivery_table,
                int(raw_area) if raw_area.isascii() and raw_area.isdigit() else None,
                country,
                data["delivery"],
                data.get("payment_mode") == "cod",
                data.get("landmark", ""),
            )
        except rules.ChoiceRefused as exc:
            self.add_error("delivery", exc.message)

    def _phone_problem(self, raw: str, country: str, message: str) -> str:
        """Why the number does not fit ``country``, pointing at the country
        field when the number is another country's (UX review U-04)."""
        others = dict.fromkeys([*self.countries, *settings.SHOP_COUNTRIES])
        fits = [c for c in others if c != country and _fits(raw, c)]
        payable = [str(OF_COUNTRY.get(c, c)) for c in fits if c in self.countries]
        if payable:
            return _("Ce numéro semble être un numéro %(of_country)s : changez le pays ?") % {
                "of_country": str(_(" ou ")).join(payable[:2])
            }
        if fits:
            return _(
                "Ce numéro semble être un numéro %(of_country)s, d'où nous n'encaissons pas "
                "encore de paiement."
            ) % {"of_country": OF_COUNTRY.get(fits[0], fits[0])}
        if message == str(
            _("Numéro de téléphone invalide pour ce pays (par exemple 70 12 34 56).")
        ):
            return _("Numéro de téléphone invalide pour ce pays (par exemple %(example)s).") % {
                "example": phone_example(country)
            }
        return message


def _choice_label(row: dict) -> str:
    """« Livraison à domicile — 1 000 FCFA, 1–2 jours · total 26 000 FCFA »:
    what she will pay with this option, before she submits (no JavaScript)."""
    from .templatetags.shop_tags import money

    fee = money(row["fee"]) if row["fee"] else str(_("gratuit"))
    total = _("total %(amount)s") % {"amount": money(row["total"])}
    return f"{row['label']} — {fee}, {row['delay']} · {total}"


def _fits(raw: str, country: str) -> bool:
    """True when ``raw`` is a valid number of ``country``."""
    try:
        phones.normalise(raw, country, [country])
    except phones.InvalidPhone:
        return False
    return True


ORDER_NUMBER = re.compile(r"^\s*(?:AS)?[\s-]*0*([0-9]{1,12})\s*$", re.IGNORECASE)


class AreaForm(forms.Form):
    """Country → city → neighbourhood as plain selects, one step at a time
    without JavaScript: each "Continuer" posts what is chosen so far and the
    page adds the next select, filtered by the choice above it."""

    country = forms.ChoiceField(label=_("Pays"), required=False)
    city = forms.ChoiceField(label=_("Ville"), required=False)
    district = forms.ChoiceField(label=_("Quartier ou commune"), required=False)

    def __init__(self, *args, table, **kwargs):
        super().__init__(*args, **kwargs)
        self.table = table
        self.fields["country"].choices = [("", _("Choisissez…"))] + [
            (c, country_name(c)) for c in table.countries()
        ]
        self.fields["country"].error_messages["invalid_choice"] = _(
            "Nous ne livrons pas encore dans ce pays."
        )
        self.fields["city"].error_messages["invalid_choice"] = _(
            "Choisissez une ville de la liste."
        )
        self.fields["district"].error_messages["invalid_choice"] = _(
            "Choisissez un quartier de la liste."
        )
        data = self.data if self.is_bound else self.initial
        country = data.get("country") or ""
        city = data.get("city") or ""
        self.fields["city"].choices = [("", _("Choisissez…"))] + [
            (str(a.id), a.name) for a in table.cities(country)
        ]
        districts = table.children(int(city)) if city.isascii() and city.isdigit() else []
        self.fields["district"].choices = [("", _("Autre quartier / je ne sais pas"))] + [
            (str(a.id), a.name) for a in districts
        ]
        # Every area of the shop may be named, so a neighbourhood of another
        # city gets its own message rather than "not in the list".
        # The selects still show only the chosen country's cities and the
        # chosen city's neighbourhoods (the widget keeps the short lists).
        all_ids = [(str(i), a.name) for i, a in table.areas.items()]
        for name in ("city", "district"):
            shown = list(self.fields[name].choices)
            self.fields[name].choices = shown + [c for c in all_ids if c not in shown]
            self.fields[name].widget.choices = shown
        self.show_city = bool(country)
        self.show_district = bool(districts)

    def clean(self):
        """The chosen area id in ``cleaned_data["area"]``, or None while a
        level is still to choose. A city of another country (the shopper
        changed the country) or a neighbourhood posted with a new city starts
        that level again; a neighbourhood of another city, sent for the city
        whose list was shown, is refused."""
        data = super().clean()
        areas = self.table.areas
        country, city, district = data.get("country"), data.get("city"), data.get("district")
        data["area"] = None
        if not country or not city:
            return data
        city_area = areas.get(int(city))
        if city_area is None or city_area.level != DeliveryArea.Level.CITY:
            self.add_error("city", _("Choisissez une ville de la liste."))
            return data
        if city_area.country != country:
            self.restart("city")
            return data
        shown_for = self.data.get("shown_for", "")
        if shown_for != city:
            if self.show_district:
                self.restart("district")
                return data
            data["area"] = city_area.id
            return data
        if district:
            area = areas.get(int(district))
            if area is None or area.parent_id != city_area.id:
                self.add_error(
                    "district",
                    _("Ce quartier n'est pas à %(city)s : choisissez-en un de la liste.")
                    % {"city": city_area.name},
                )
                return data
            data["area"] = area.id
        else:
            data["area"] = city_area.id
        return data

    def restart(self, name: str) -> None:
        """Show ``name`` again with nothing chosen (and the levels under it)."""
        self.data = self.data.copy()
        for level in ("city", "district")[("city", "district").index(name) :]:
            self.data[level] = ""
        if name == "city":
            self.show_district = False
