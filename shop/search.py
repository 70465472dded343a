"""Catalogue search that finds what people type: accents, plurals, several words.

``cle`` finds "Clé USB", ``ecouteurs`` finds "Écouteurs…", ``samsung a15``
finds "Samsung Galaxy A15", ``chargeurs`` finds "Chargeur rapide", and
``telephone`` finds the products of the "Téléphones" category.

* PostgreSQL: full-text search over name (weight A), category (B) and
  description (C), each passed through ``unaccent`` and the ``french``
  configuration (its stemmer folds plurals), every word required and
  matched as a prefix (``a15`` while typing ``a1``), ranked.
* SQLite (the embedded run): an accent- and case-folded ``LIKE`` per word,
  plurals folded by dropping a final s/x, through a ``shop_fold`` SQL
  function registered on every SQLite connection (``shop/signals.py``).
  No ranking.

Either way it is one filter on the listing's queryset, so a search costs
the same two queries (count, page) as any listing.
"""

from __future__ import annotations

import re
import unicodedata

from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Coalesce

MAX_TERMS = 6
WORD = re.compile(r"[a-z0-9]+")


def fold(text: str | None) -> str:
    """Lower case, accents removed: "Écouteurs" → "ecouteurs"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def terms(query: str) -> list[str]:
    """The words of a query, folded; punctuation and tsquery operators dropped."""
    return WORD.findall(fold(query))[:MAX_TERMS]


def search(products: QuerySet, query: str) -> tuple[QuerySet, bool]:
    """``products`` narrowed to those matching every word of ``query``;
    the second value says whether they are annotated with a ``rank``."""
    words = terms(query)
    if not words:
        return products.none(), False
    if products.db != "default" or _vendor(products) != "postgresql":
        return _folded_like(products, words), False
    return _full_text(products, words), True


def _vendor(products: QuerySet) -> str:
    from django.db import connections

    return connections[products.db].vendor


def _full_text(products: QuerySet, words: list[str]) -> QuerySet:
    from django.contrib.postgres.lookups import Unaccent
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = (
        SearchVector(Unaccent("name"), weight="A", config="french")
        + SearchVector(Unaccent("category__name"), weight="B", config="french")
        + SearchVector(Unaccent("description"), weight="C", config="french")
    )
    # Words are [a-z0-9]+ only, so the raw tsquery cannot be malformed.
    query = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="french")
    return (
        products.annotate(search=vector)
        .filter(search=query)
        .annotate(rank=SearchRank(vector, query))
    )


class Fold(Func):
    """``shop_fold(text)``: the SQLite twin of :func:`fold`."""

    function = "shop_fold"
    output_field = TextField()


def _folded_like(products: QuerySet, words: list[str]) -> QuerySet:
    haystack = Fold(
        Func(
            Coalesce(F("name"), Value("")),
            Value(" "),
            Coalesce(F("category__name"), Value("")),
            Value(" "),
            Coalesce(F("description"), Value("")),
            function="",
            arg_joiner=" || ",
            output_field=TextField(),
        )
    )
    products = products.annotate(haystack=haystack)
    condition = Q()
    for word in words:
        stem = word[:-1] if len(word) > 3 and word[-1] in "sx" else word
        condition &= Q(haystack__contains=stem)
    return products.filter(condition)
