"""The process's edges: arguments and streams in, one command run, every ending turned into an exit code.

Commands are imported when they run, so that ``tierpay --help`` loads no engine.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import io
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import BinaryIO, TextIO, cast

from tierpay.cli.exits import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OUTPUT, EXIT_RULESET, EXIT_USAGE
from tierpay.cli.parser import KeepError, OptionsClash, TextOnly, UsageError, build_parser
from tierpay.errors import (
    LedgerError,
    OutputConflict,
    OutputError,
    RecordsError,
    RulesetError,
    RulesetUnreadable,
    StateError,
    TierpayError,
)


def main(
    argv: Sequence[str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: BinaryIO | None = None,
) -> int:
    """Run ``tierpay`` with ``argv``; write to the given streams; return the exit code.

    Every way a run can end has its exit code and a plain message: an unexpected exception is
    one line asking for a report (the traceback too when ``TIERPAY_DEBUG=1``), never a bare
    traceback; Ctrl-C is ``interrupted`` and 130.
    """
    out = stdout or sys.stdout or cast(TextIO, _Closed())  # None when started with standard output closed (>&-)
    err = stderr or sys.stderr or open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the whole process
    try:
        source = stdin if stdin is not None else (sys.stdin.buffer if sys.stdin is not None else None)
        return _main(argv, out, err, source)
    except KeyboardInterrupt:
        return _stopped(err, "interrupted", EXIT_INTERRUPTED)
    except Stopped as stop:
        return _stopped(err, stop.message, stop.code)
    except BrokenPipeError:  # the reader stopped early (| head): its choice, not an error to report
        return EXIT_OUTPUT
    except OSError as error:
        if error.filename is None:  # a write to standard output failed (> /dev/full); files are named
            _say(err, f"error: standard output: cannot write: {error.strerror or error}\n")
            return EXIT_OUTPUT
        return _internal(error, err)
    except Exception as error:
        return _internal(error, err)


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO, stdin: BinaryIO | None = None) -> int:
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out):  # --help and --version print to the given stream
            args = parser.parse_args(argv)
    except UsageError as error:
        err.write(parser.format_usage())
        err.write(f"{error}\n")
        return EXIT_USAGE
    except SystemExit as done:  # --help and --version
        out.flush()
        return int(done.code or 0)
    if args.command is None:
        err.write(parser.format_help())
        return EXIT_USAGE
    args.stdin = stdin  # records given as "-"
    try:
        module, function = _COMMANDS[args.command]
        command = getattr(importlib.import_module(f"tierpay.cli.{module}"), function)
        code = int(command(args, out, err))
        out.flush()
        return code
    except (KeepError, OptionsClash, TextOnly) as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    except RulesetUnreadable as error:  # the file named on the command line, not what it says
        err.write(f"error: {error}\n")
        return EXIT_INPUT
    except RulesetError as error:
        err.write(f"{error}\n")
        count = len(error.problems)
        err.write(f"{count} problem{'s' if count != 1 else ''} found\n")
        return EXIT_RULESET
    except OutputConflict as error:
        err.write(f"error: {error}\n")
        return EXIT_USAGE
    except (RecordsError, StateError) as error:
        err.write("".join(f"error: {line}\n" for line in str(error).splitlines()))
        return EXIT_INPUT
    except OutputError as error:
        err.write(f"error: {error}\n")
        return EXIT_OUTPUT
    except LedgerError as error:  # cannot be opened or read: an input, as a state file is
        err.write(f"error: {error}\n")
        return EXIT_INPUT
    except TierpayError as error:  # pragma: no cover - every subclass is handled above
        err.write(f"error: {error}\n")
        return EXIT_INPUT


class Stopped(BaseException):
    """A signal asked the run to stop (SIGTERM, SIGHUP): raised so that cleanup runs, like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        self.code = 128 + signum
        self.message = "hung up" if signum == getattr(signal, "SIGHUP", None) else "terminated"
        super().__init__(self.message)


def _stopped(err: TextIO, message: str, code: int) -> int:
    _say(err, f"{message}\n")
    return code


def _internal(error: BaseException, err: TextIO) -> int:
    """An exception tierpay did not expect: one line, and the traceback only when asked for."""
    if os.environ.get("TIERPAY_DEBUG", "") not in ("", "0"):
        _say(err, "".join(traceback.format_exception(error)))
    text = str(error).splitlines()[0] if str(error) else ""
    _say(err, f"internal error: {type(error).__name__}{': ' + text if text else ''} (please report)\n")
    return EXIT_INTERNAL


def _say(err: TextIO, text: str) -> None:
    """Write to standard error when it still can be written: a last message must not fail in turn."""
    with contextlib.suppress(OSError, ValueError):
        err.write(text)
        err.flush()


class _Closed(io.TextIOBase):
    """Standard output when the process was started without one: writing to it fails as a closed file does."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "it is closed")


_COMMANDS = {
    "validate": ("checking", "validate"),
    "evaluate": ("evaluating", "evaluate"),
    "review": ("reporting", "review"),
    "statement": ("reporting", "statement"),
    "explain": ("reporting", "explain_command"),
    "report": ("reporting", "report_page"),
    "test": ("checking", "test"),
    "diff": ("reporting", "diff"),
    "schema": ("checking", "schema"),
    "close": ("ledgering", "close"),
    "ledger": ("ledgering", "listing"),
}
"""Each command's module in this package and its function: (args, out, err) -> exit code."""


def entry_point() -> None:
    """The console script: ``sys.exit(main())``, with SIGTERM and SIGHUP stopping the run as Ctrl-C does.

    A signal raises ``Stopped`` wherever the run is, so that the outputs' cleanup runs. When
    standard output was closed by its reader (``| head``) or failed, it is pointed at
    ``/dev/null`` so that the flush at exit does not fail again.
    """
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN:
            signal.signal(getattr(signal, name), _stop)
    code = main()
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError:
        code = code or EXIT_OUTPUT
    if code == EXIT_OUTPUT and sys.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)
