"""``python -m tierpay``: the same as the ``tierpay`` command."""

from tierpay.cli import entry_point

entry_point()
