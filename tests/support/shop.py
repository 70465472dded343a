"""What the shop tests do the way a browser without JavaScript would: read the
forms and images of a page, fill a form, post it; plus the cart shortcuts.

Only the standard library's HTML parser is used: the pages are ours and
well-formed, and a test that needs a real DOM belongs to the browser suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.urls import reverse

from shop.cart import SESSION_KEY


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def data(self, **values) -> dict[str, str]:
        """The form as a browser would send it, with ``values`` typed over it."""
        out = dict(self.fields)
        out.update({k: str(v) for k, v in values.items()})
        return out


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.images: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = Form(
                action=a.get("action") or "", method=(a.get("method") or "get").lower()
            )
            self.forms.append(self._form)
        elif tag == "img":
            self.images.append(a)
        elif tag == "link" and (a.get("rel") or "") == "stylesheet":
            self.stylesheets.append(a["href"])
        elif tag == "script":
            self.scripts.append(a.get("src") or "")
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value") or ""
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in {"submit", "button", "image"}:
                self._form.buttons.append((a["name"], a.get("value") or ""))
            elif kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._form.fields.append((a["name"], a.get("value") or "on"))
            elif kind != "file":
                self._form.fields.append((a["name"], a.get("value") or ""))
        elif tag == "button":
            self._form.buttons.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []
        elif tag == "select":
            self._select, self._select_value = a["name"], None

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            # A browser drops the single newline that follows <textarea>.
            self._form.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append((self._select, self._select_value or ""))
            self._select = None


def parse_page(html: str | bytes) -> _PageParser:
    parser = _PageParser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    parser.close()
    return parser


def find_form(response, action: str, method: str = "post") -> Form:
    """The page's form posting to ``action`` (a path); fails when absent."""
    forms = [
        f
        for f in parse_page(response.content).forms
        if f.method == method and (f.action or response.request["PATH_INFO"]) == action
    ]
    assert forms, f"no {method.upper()} form to {action} in {response.request['PATH_INFO']}"
    return forms[0]


# --- cart shortcuts -----------------------------------------------------------
def add_to_cart(client, product, quantity: int = 1, **extra):
    """POST the product page's add-to-cart form the plain way."""
    data = {"product_id": product.pk, "quantity": quantity, **extra}
    return client.post(reverse("shop:cart_add"), data)


def cart_of(client) -> dict[str, int]:
    """The session cart as stored (product id as text → quantity)."""
    return dict(client.session.get(SESSION_KEY, {}))


def checkout_data(**overrides) -> dict[str, str]:
    """A valid checkout form for a shopper in Burkina Faso."""
    data = {
        "full_name": "Élodie Ouédraogo",
        "email": "elodie@example.bf",
        "country": "BF",
        "phone": "70 12 34 56",
        "address": "Secteur 15, Ouagadougou",
        "note": "",
        "checkout_key": "",
    }
    data.update(overrides)
    return data
