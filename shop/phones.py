"""Phone numbers, one way everywhere: typed in any usual form, stored in E.164,
shown the way people read them at home.

``normalise()`` is what the checkout form, the order lookup and the pay page's
wallet number all call; ``local()`` is what the ``local_phone`` template filter
shows. Nothing else in the shop parses a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

from .text import clean_text

MAX_LENGTH = 30  # the longest a shopper can type in any phone field
LETTERS = re.compile(r"[A-Za-z]")
PAIRS_THEN_FOUR = re.compile(r"^(?:[0-9]{2} )+[0-9]{4}$")


class InvalidPhone(ValueError):
    """A number that cannot be used; ``str(exc)`` is the message for the shopper."""


def normalise(
    raw: str, default_country: str, allowed_regions: Iterable[str] = (), *, refused: str = ""
) -> str:
    """The E.164 form of ``raw`` (``"70 12 34 56"``, ``"0022670123456"``,
    ``"+226 70-12-34-56"``, full-width digits…), read as a number of
    ``default_country`` when it has no international prefix.

    The number must belong to one of ``allowed_regions`` (empty: any). When it
    does not, the message is ``refused`` (``%(countries)s`` is replaced by the
    allowed regions) or, by default, the checkout's: "Nous ne livrons pas ce
    pays." for a country the shop does not serve, else "Ce numéro n'est pas un
    numéro du pays choisi." Raises ``InvalidPhone``.
    """
    raw = raw or ""
    if "\x00" in raw or len(raw) > MAX_LENGTH:
        raise InvalidPhone(_("Numéro de téléphone invalide."))
    text = clean_text(raw)
    if LETTERS.search(text):
        raise InvalidPhone(_("Le numéro de téléphone ne doit contenir que des chiffres."))
    try:
        number = phonenumbers.parse(text, default_country)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_("Numéro de téléphone invalide.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            _("Numéro de téléphone invalide pour ce pays (par exemple 70 12 34 56).")
        )
    allowed = tuple(allowed_regions)
    region = phonenumbers.region_code_for_number(number)
    if allowed and region not in allowed:
        if refused:
            raise InvalidPhone(refused % {"countries": ", ".join(allowed)})
        if region not in settings.SHOP_COUNTRIES:
            raise InvalidPhone(_("Nous ne livrons pas ce pays."))
        raise InvalidPhone(_("Ce numéro n'est pas un numéro du pays choisi."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def local(e164: str) -> str:
    """A number the way people read it at home: ``"+22670123456"`` → ``"70 12 34 56"``.

    Anything unreadable is returned as it came."""
    e164 = e164 or ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if not phonenumbers.is_valid_number(number):
        return e164
    text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    # libphonenumber writes Ivorian 10-digit numbers "07 01 02 0304"; people
    # write pairs, "07 01 02 03 04" (UX review 2026-12-03, U-16).
    if PAIRS_THEN_FOUR.match(text):
        text = f"{text[:-2]} {text[-2:]}"
    return text
