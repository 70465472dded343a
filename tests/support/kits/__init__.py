"""One kit per provider; the contract suite runs against each of them."""

from importlib import import_module

KIT_CLASSES = {
    "ligdicash": "LigdicashKit",
    "novasend": "NovasendKit",
    "lygos": "LygosKit",
    "lengopay": "LengopayKit",
    "dexchange": "DexchangeKit",
}


def all_kits():
    kits = []
    for code, name in KIT_CLASSES.items():
        try:
            module = import_module(f"{__name__}.{code}")
        except ImportError:
            continue
        kits.append(getattr(module, name)())
    return kits
