"""The ``tierpay`` command: a function from arguments and streams to an exit code.

Exit codes (also in ``tierpay --help`` and docs/reference/cli.md):

    0  done; every record was decided
    1  done, but some records were rejected (they are listed) or a check failed
    2  the command line is wrong
    3  the ruleset is invalid (every problem is listed with file, line and field)
    4  an input file (the ruleset named, records, state) cannot be read
    5  an output cannot be written, or exists and --force was not given
   70  internal error: a bug in tierpay (please report it)
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM); 129 hung up (SIGHUP)

``parser`` builds the command line, ``running`` is the process's edge (streams, signals, exit
codes), ``opening`` is how every command begins and reports, and ``checking``, ``evaluating``
and ``reporting`` hold the commands.
"""

from __future__ import annotations

from tierpay.cli.exits import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_REJECTED,
    EXIT_RULESET,
    EXIT_USAGE,
)
from tierpay.cli.parser import build_parser
from tierpay.cli.running import Stopped, entry_point, main

__all__ = [
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_OUTPUT",
    "EXIT_REJECTED",
    "EXIT_RULESET",
    "EXIT_USAGE",
    "Stopped",
    "build_parser",
    "entry_point",
    "main",
]
