"""``{% chrome "name" %}…{% endchrome %}``: a piece of the page frame rendered
once per process and language.

The frame around every shop page (``base.html``: the stylesheet and script
links, the header's links, the footer's links and language buttons) is the
same for every shopper and every request in a language, yet it is a dozen
URL reversals, static-manifest look-ups and translations each time. A chrome
block is rendered the first time and then served from a per-process
dictionary keyed by its name, the active language, the URLconf and the
script prefix (what its links depend on); a change of settings
(``setting_changed``, i.e. tests) empties it, and ``DEBUG`` turns it off
(templates edited while ``runserver`` runs are seen at once).

Only what depends on nothing else may go inside: no request, no session, no
CSRF token, no shopper data (``query``, ``cart_count``…). A test renders the
frame for two shoppers and compares.
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

_RENDERED: dict[tuple[str, str | None, object, str], SafeString] = {}


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    _RENDERED.clear()


def forget() -> None:
    """Empty the rendered frame pieces (after a settings or translations change)."""
    _RENDERED.clear()


class ChromeNode(template.Node):
    def __init__(self, name: str, nodelist: template.NodeList) -> None:
        self.name = name
        self.nodelist = nodelist

    def render(self, context: template.Context) -> str:
        if settings.DEBUG:
            return self.nodelist.render(context)
        key = (self.name, get_language(), get_urlconf(), get_script_prefix())
        html = _RENDERED.get(key)
        if html is None:
            html = _RENDERED[key] = mark_safe(self.nodelist.render(context))
        return html


@register.tag
def chrome(parser: template.base.Parser, token: template.base.Token) -> ChromeNode:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError('usage: {% chrome "name" %}…{% endchrome %}')
    nodelist = parser.parse(("endchrome",))
    parser.delete_first_token()
    return ChromeNode(bits[1][1:-1], nodelist)
