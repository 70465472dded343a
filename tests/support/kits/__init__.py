"""One kit per provider (and per mode a provider can run in); the contract
suite runs against each of them.

Every kit is imported here: a kit module that fails to import fails the run
instead of leaving the contract suite silently shorter."""

from importlib import import_module

# kit module → kit classes, in the order the contract suite runs them.
KIT_CLASSES = {
    "ligdicash": ("LigdicashKit",),
    "novasend": ("NovasendKit",),
    "lygos": ("LygosKit",),
    "lengopay": ("LengopayKit", "LengopayCallbackTruthKit"),
    "dexchange": ("DexchangeKit",),
}


def all_kits():
    return [
        getattr(import_module(f"{__name__}.{module}"), name)()
        for module, names in KIT_CLASSES.items()
        for name in names
    ]
