"""Provider settings for a shop whose providers are all its own sandbox."""

KEEP = (
    "base_url",
    "status_path",
    "status_fallback_path",
    "webhook_secrets",
    "account_id",
    "website_id",
    "redirect_hosts",
)


def sandbox_providers(providers: dict, base: str) -> dict:
    """``providers`` pointed at the sandbox of the shop served at ``base``."""
    out = {}
    for code, config in providers.items():
        out[code] = dict(config, base_url=f"{base}/sandbox/{code}")
        for key in config:
            if key not in KEEP:
                out[code][key] = f"sandbox-{code}-{key}"
    return out
