"""Exit codes of the ``tierpay`` command and the epilog that lists them in ``--help``."""

from __future__ import annotations

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_RULESET = 3
EXIT_INPUT = 4
EXIT_OUTPUT = 5
EXIT_INTERNAL = 70  # EX_SOFTWARE of sysexits.h
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it; SIGTERM is 143, SIGHUP 129

EPILOG = """exit codes:
  0  done; every record was decided
  1  done, but some records were rejected (listed on stderr) or a check failed
  2  the command line is wrong
  3  the ruleset is invalid
  4  an input file cannot be read
  5  an output cannot be written, or exists and --force was not given
 70  internal error: a bug in tierpay (please report it)
130  interrupted (Ctrl-C); 143 terminated (SIGTERM); nothing is left behind
"""
