"""Lazy package exports (PEP 562): a package's public names are imported from their submodules on first use, so
importing the package itself stays cheap (the command-line tools parse arguments before torch is imported)."""
import importlib
import sys
from typing import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each public name to the
    submodule (relative to ``package``) that defines it."""

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        return getattr(importlib.import_module(f'{package}.{exports[name]}'), name)

    def __dir__() -> list:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
