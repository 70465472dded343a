"""Provider HTTP calls routed into the Django test client (the in-app sandbox)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def sandbox_transport(rsps, client, prefix: str) -> None:
    """Route the provider's HTTP calls under ``prefix`` into the Django test
    client, so the real provider code talks to the in-app emulator."""

    def forward(request):
        url = urlsplit(request.url)
        # No Accept-Encoding: the shop's GZipMiddleware would compress the answer.
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("content-length", "content-type", "accept-encoding", "connection")
        }
        response = client.generic(
            request.method,
            url.path + (f"?{url.query}" if url.query else ""),
            data=request.body or b"",
            content_type=request.headers.get("Content-Type", "application/json"),
            headers=headers,
        )
        return (
            response.status_code,
            {"Content-Type": response.get("Content-Type", "")},
            response.content,
        )

    pattern = re.compile(re.escape(prefix) + r"/.*")
    for method in ("GET", "POST"):
        rsps.add_callback(method, pattern, callback=forward)
