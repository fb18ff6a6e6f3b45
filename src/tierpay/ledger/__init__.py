"""The ledger of runs: every run kept in a database, months closed, closed months corrected.

An edge, like :mod:`tierpay.io`: the engine decides (:mod:`tierpay.engine.corrections`), this
package reads and writes the database through SQLAlchemy Core. SQLite by default (``--ledger``
names a file), PostgreSQL through a URL (``postgresql+psycopg://...``). Needs the optional
extra ``tierpay[ledger]`` (and ``tierpay[postgres]`` for PostgreSQL); without it, opening a
ledger says which to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tierpay.errors import LedgerError

if TYPE_CHECKING:
    from tierpay.ledger.store import Ledger


def open_ledger(where: str, *, create: bool = False) -> Ledger:
    """The ledger at ``where`` (a file path or a database URL), its schema checked.

    ``create`` makes a new ledger where there is none (``evaluate``); reading commands and
    ``close`` refuse a missing one. Raises ``LedgerError`` naming the ledger and what to do.
    """
    try:
        from tierpay.ledger.store import Ledger
    except ImportError as error:
        if getattr(error, "name", "") and str(error.name).split(".")[0] == "sqlalchemy":
            raise LedgerError(
                f"--ledger {where}: the ledger needs SQLAlchemy, which is not installed: pip install 'tierpay[ledger]'"
            ) from None
        raise
    return Ledger(where, create=create)
