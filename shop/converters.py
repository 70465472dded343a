"""URL converters: an order token is URL-safe base64, nothing else reaches a query."""

from django.urls import register_converter


class TokenConverter:
    regex = r"[A-Za-z0-9_-]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "token")
