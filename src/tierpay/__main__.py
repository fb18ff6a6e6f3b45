"""``python -m tierpay``: the same as the ``tierpay`` command."""

import sys

from tierpay.cli import main

sys.exit(main())
