"""The public namespace: what ``import tierpay`` offers, and nothing that leaks."""

from __future__ import annotations

import tierpay
from tierpay import errors


def test_all_is_sorted_and_complete() -> None:
    """``__all__`` is sorted and every name in it exists."""
    assert list(tierpay.__all__) == sorted(tierpay.__all__)
    for name in tierpay.__all__:
        assert hasattr(tierpay, name), name


def test_exported_names_are_the_public_api() -> None:
    """Every public, non-module attribute of the package is listed in ``__all__``."""
    import types

    public = {
        n for n in dir(tierpay) if not n.startswith("_") and not isinstance(getattr(tierpay, n), types.ModuleType)
    }
    assert public == set(tierpay.__all__) - {"__version__"}


def test_every_error_derives_from_the_root() -> None:
    """One exception root: every error class tierpay raises is a ``TierpayError``."""
    for name in ("RulesetError", "RecordsError", "StateError", "EvaluationError", "OutputError", "OutputConflict"):
        assert issubclass(getattr(errors, name), errors.TierpayError)


def test_package_is_typed() -> None:
    """The package ships ``py.typed`` so type checkers read its hints."""
    from importlib.resources import files

    assert files("tierpay").joinpath("py.typed").is_file()
