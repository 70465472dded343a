"""Test support, in one place: factories (``factories``), one kit per
provider driving the shared contract suite (``kits``), the sandbox URLconf
and settings (``sandbox_urls``, ``sandbox_config``), the shopper's path
through the live sandbox (``e2e``), page helpers for the shop tests
(``shop``), staff helpers (``backoffice``) and the production environment
for the deploy checks (``deploy``)."""
