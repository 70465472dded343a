"""French by default, English on request through Django's set_language view;
the compiled catalogues ship with the code (no gettext needed to run)."""

import ast
import gettext
import html
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.support.factories import make_product
from tests.support.shop import add_to_cart, find_form

pytestmark = pytest.mark.django_db

PLACEHOLDER = re.compile(r"%\(\w+\)s|<[^>]+>")


def text(response) -> str:
    return html.unescape(response.content.decode())


def choose(client, language: str, next_url: str = "/"):
    return client.post(reverse("set_language"), {"language": language, "next": next_url})


def test_pages_are_in_french_by_default(client):
    page = text(client.get(reverse("shop:products")))

    assert '<html lang="fr">' in page
    assert "Tous les produits" in page
    assert ">Panier <" in page


def test_english_chosen_in_the_footer_gives_english_pages(client):
    make_product(name="Itel A70", stock=2)
    footer = find_form(client.get(reverse("shop:products")), reverse("set_language"))
    assert ("language", "en") in footer.buttons

    response = client.post(footer.action, {**footer.data(), "language": "en"}, follow=True)

    page = text(response)
    assert response.redirect_chain == [(reverse("shop:products"), 302)]
    assert '<html lang="en">' in page
    assert "All products" in page
    assert "Tous les produits" not in page
    assert ">Cart <" in page
    assert "Only 2 left in stock" in page
    assert "1 product" in page


def test_english_error_messages_and_money(client):
    product = make_product(name="Nokia 105", price=15000, stock=3)
    choose(client, "en")

    response = add_to_cart(client, product, 4)

    assert "Only 3 “Nokia 105” left in stock." in text(response)
    assert "15\u202f000\u00a0FCFA" in text(client.get(product.get_absolute_url()))


def test_language_buttons_name_each_language_in_itself(client):
    for language in ("fr", "en"):
        choose(client, language)
        page = text(client.get(reverse("shop:home")))
        assert '<button name="language" value="fr" lang="fr"' in page
        assert ">Français</button>" in page
        assert ">English</button>" in page


def test_french_can_be_chosen_again(client):
    choose(client, "en")
    choose(client, "fr")

    assert "Tous les produits" in text(client.get(reverse("shop:products")))


def test_set_language_never_redirects_off_site(client):
    response = choose(client, "en", next_url="https://evil.example/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr / msgstr[n], flags."""
    entries, entry, key = [], {}, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry.get("msgid"):
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry["flags"] = line[2:].strip()
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


def locale_file(language: str, name: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / name


ENGLISH = read_po(locale_file("en", "django.po"))


def test_every_english_string_is_translated_with_the_same_placeholders():
    assert len(ENGLISH) > 100
    for entry in ENGLISH:
        translations = (
            [entry["msgstr"]] if "msgstr" in entry else [entry["msgstr[0]"], entry["msgstr[1]"]]
        )
        assert all(translations), f"untranslated: {entry['msgid']!r}"
        assert "fuzzy" not in entry.get("flags", ""), f"fuzzy: {entry['msgid']!r}"
        wanted = set(PLACEHOLDER.findall(entry["msgid"]))
        for translation in translations:
            assert set(PLACEHOLDER.findall(translation)) == wanted, entry["msgid"]


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
def test_compiled_catalogue_is_shipped_and_matches_its_source(language):
    with locale_file(language, "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    for entry in read_po(locale_file(language, "django.po")):
        if "msgid_plural" in entry:
            for n, form in ((1, "msgstr[0]"), (2, "msgstr[1]")):
                expected = entry[form] or (entry["msgid"] if n == 1 else entry["msgid_plural"])
                assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], n) == expected, (
                    "run compilemessages"
                )
        else:
            assert compiled.gettext(entry["msgid"]) == (entry["msgstr"] or entry["msgid"]), (
                "run compilemessages"
            )
