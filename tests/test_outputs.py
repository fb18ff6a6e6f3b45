"""A run's outputs: all of them or none, special files written in place, every ending with its exit code.

The corpus (tests/corpus/runs) pins what can be pinned in a folder; these need real devices,
links git cannot hold, signals sent to a real ``python -m tierpay``, or a fault put in on purpose.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tierpay.cli import main
from tierpay.io import outputs as outputs_module
from tierpay.outputs import report as report_module

from .conftest import ROOT, SAMPLE_H1, SAMPLE_MONTH, STARS

EVALUATE = ["evaluate", str(STARS), str(SAMPLE_MONTH), "--format", "csv"]


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``tierpay`` in-process; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def tierpay(*argv: str, cwd: Path, **options: object) -> subprocess.Popen[bytes]:
    """A real ``python -m tierpay`` process, as a shell starts it."""
    command = [sys.executable, "-m", "tierpay", *argv]
    return subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, **options)  # type: ignore[call-overload]


def names(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden ones too."""
    return sorted(p.name for p in folder.iterdir())


def needs(device: str) -> pytest.MarkDecorator:
    """Skip where the system has no ``device``."""
    return pytest.mark.skipif(not os.path.exists(device), reason=f"no {device} on this system")


@needs("/dev/null")
def test_dev_null_stays_a_device(tmp_path: Path) -> None:
    """``-o /dev/null --force`` writes into the device; it is never replaced by a file (as root it could be)."""
    before = os.stat("/dev/null")
    code, out, err = run(*EVALUATE, "-o", "/dev/null", "--force", "--payroll", str(tmp_path / "pay.csv"))
    after = os.stat("/dev/null")
    assert code == 1  # the sample has rejected rows
    assert out == ""
    assert "rejected: " in err
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert names(tmp_path) == ["pay.csv"]
    assert run(*EVALUATE, "-o", "/dev/null")[0] == 1  # nothing is overwritten: no --force needed


@needs("/dev/full")
def test_a_full_device_is_exit_5_and_nothing_is_left(tmp_path: Path) -> None:
    """``-o /dev/full``: exit 5 naming it, and the payroll written beside it does not appear."""
    code, _, err = run(*EVALUATE, "-o", "/dev/full", "--payroll", str(tmp_path / "pay.csv"))
    assert code == 5
    assert err == "error: /dev/full: cannot write: No space left on device\n"
    assert names(tmp_path) == []


@needs("/dev/full")
def test_standard_output_that_fails_is_exit_5_with_a_plain_message(tmp_path: Path) -> None:
    """``> /dev/full``: exit 5 and one line, no traceback, and no file of the run appears."""
    with (
        open("/dev/full", "wb") as full,
        tierpay(
            "evaluate",
            str(STARS),
            str(SAMPLE_H1),
            "--format",
            "json",
            "--payroll",
            "pay.csv",
            cwd=tmp_path,
            stdout=full,
        ) as process,
    ):
        _, errors = process.communicate(timeout=120)
    assert process.returncode == 5
    assert errors.decode() == "error: standard output: cannot write: No space left on device\n"
    assert names(tmp_path) == []


def test_a_closed_pipe_ends_quietly_and_publishes_nothing(tmp_path: Path) -> None:
    """``tierpay ... | head -1``: exit 5, nothing on stderr, and the payroll of the cut-short run does not appear."""
    with tierpay(
        "evaluate", str(STARS), str(SAMPLE_H1), "--format", "json", "--payroll", "pay.csv",
        cwd=tmp_path, stdout=subprocess.PIPE,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline() == b"{\n"
        process.stdout.close()  # the reader stops, as head does
        errors = process.stderr.read().decode()
        assert process.wait(timeout=120) == 5
    assert errors == ""
    assert names(tmp_path) == []


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
    ids=["SIGTERM", "SIGINT"],
)
def test_a_signal_mid_run_leaves_nothing_behind(tmp_path: Path, signum: int, code: int, message: str) -> None:
    """A run stopped while it writes: its exit code, one word, and neither outputs nor temporaries.

    Nobody reads its standard output, so the run waits on a full pipe and cannot finish first.
    """
    (tmp_path / "state.json").write_text("old state\n", encoding="utf-8")
    with tierpay(
        "evaluate", str(STARS), str(SAMPLE_H1), "--format", "json", "--payroll", "pay.csv",
        "--state-out", "state.json", "--force", cwd=tmp_path, stdout=subprocess.PIPE,
    ) as process:  # fmt: skip
        deadline = time.monotonic() + 120
        while not any(".tierpay-" in name for name in names(tmp_path)):
            assert time.monotonic() < deadline, "the run never staged its outputs"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        time.sleep(0.5)  # into the work
        process.send_signal(signum)
        _, errors = process.communicate(timeout=120)
    assert process.returncode == code
    assert errors.decode() == f"{message}\n"
    assert names(tmp_path) == ["state.json"]
    assert (tmp_path / "state.json").read_text(encoding="utf-8") == "old state\n"


def test_dev_stdout_is_the_standard_output_it_names(tmp_path: Path) -> None:
    """``-o /dev/stdout > out.csv``: the decisions go to the file the shell opened, which is not replaced."""
    if not os.path.exists("/dev/stdout"):
        pytest.skip("no /dev/stdout on this system")
    target = tmp_path / "out.csv"
    with open(target, "wb") as shell_redirect:
        with tierpay(*EVALUATE, "-o", "/dev/stdout", cwd=tmp_path, stdout=shell_redirect) as process:
            _, errors = process.communicate(timeout=120)
        inode = os.fstat(shell_redirect.fileno()).st_ino
    assert process.returncode == 1
    assert "rejected: " in errors.decode()
    assert os.stat(target).st_ino == inode
    assert target.read_text(encoding="utf-8").startswith("agent_id,period,team,")
    assert names(tmp_path) == ["out.csv"]


def test_a_named_pipe_is_written_in_place(tmp_path: Path) -> None:
    """``-o fifo`` writes into the pipe for its reader; the pipe stays a pipe."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, _ = run(*EVALUATE, "-o", str(fifo))
    reader.join(timeout=60)
    assert code == 1
    assert received[0].startswith(b"agent_id,period,team,")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert names(tmp_path) == ["fifo"]


def test_a_socket_is_refused(tmp_path: Path) -> None:
    """``-o`` naming a Unix socket: exit 5, the socket untouched."""
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        code, _, err = run(*EVALUATE, "-o", str(path), "--force")
    assert code == 5
    assert err == f"error: {path}: cannot write: is a socket\n"
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_hard_links_are_the_same_file(tmp_path: Path) -> None:
    """Two names of one file (a hard link) are refused as two outputs, before any work: exit 2."""
    (tmp_path / "a.csv").write_text("old\n", encoding="utf-8")
    os.link(tmp_path / "a.csv", tmp_path / "b.csv")
    code, _, err = run(*EVALUATE, "-o", str(tmp_path / "a.csv"), "--payroll", str(tmp_path / "b.csv"), "--force")
    assert code == 2
    assert err == (
        f"error: -o {tmp_path / 'a.csv'} and --payroll {tmp_path / 'b.csv'} are the same file: "
        "give each output a file of its own\n"
    )
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == "old\n"


def test_an_output_over_the_state_read_is_refused(tmp_path: Path) -> None:
    """``-o`` naming the ``--state-in`` file would lose the state: exit 2 (only --state-out may update it)."""
    state = tmp_path / "state.json"
    assert run(*EVALUATE, "--state-out", str(state))[0] == 1
    code, _, err = run(*EVALUATE, "--state-in", str(state), "-o", str(state), "--force")
    assert code == 2
    assert err == f"error: -o {state} is --state-in {state}: an output may not replace an input\n"


def test_an_output_in_the_versions_folder_is_refused(tmp_path: Path) -> None:
    """A ruleset given as a folder: an output naming one of its YAML files is refused."""
    folder = tmp_path / "versions"
    folder.mkdir()
    for name in ("callcenter-stars.yaml", "minimum-wage-2026.yaml"):
        (folder / name).write_bytes((STARS.parent / name).read_bytes())
    code, _, err = run(
        "evaluate", str(folder), str(SAMPLE_MONTH), "-o", str(folder / "minimum-wage-2026.yaml"), "--force"
    )
    assert code == 2
    assert err.startswith(f"error: -o {folder / 'minimum-wage-2026.yaml'} is the ruleset {folder}: ")


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    """``-o`` naming a link that leads back to itself: exit 5 in plain words."""
    os.symlink("loop.csv", tmp_path / "loop.csv")
    code, _, err = run(*EVALUATE, "-o", str(tmp_path / "loop.csv"))
    assert code == 5
    assert err == f"error: {tmp_path / 'loop.csv'}: cannot write: too many levels of symbolic links\n"


def test_a_failed_rename_puts_back_what_was_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last rename of the publish step fails: the file already replaced gets its old bytes back."""
    for name in ("out.csv", "pay.csv", "state.json"):
        (tmp_path / name).write_text(f"old {name}\n", encoding="utf-8")
    real_replace = os.replace
    replaced: list[str] = []

    def failing(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if Path(target).name == "pay.csv" and Path(source).suffix == ".tmp":
            raise OSError(5, "Input/output error")
        replaced.append(Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(outputs_module.os, "replace", failing)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(*EVALUATE, "-o", "out.csv", "--state-out", "state.json", "--payroll", "pay.csv", "--force")
    assert code == 5
    assert err == "error: pay.csv: cannot write: Input/output error\n"
    assert replaced[:2] == ["out.csv", "state.json"]  # replaced, then put back
    for name in ("out.csv", "pay.csv", "state.json"):
        assert (tmp_path / name).read_text(encoding="utf-8") == f"old {name}\n"
    assert names(tmp_path) == ["out.csv", "pay.csv", "state.json"]


def test_a_file_made_during_the_run_is_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --force, a target another program makes while the run works is kept, and nothing appears."""
    real_payroll = report_module.payroll_csv

    def meanwhile(*args: object) -> str:
        (tmp_path / "out.csv").write_text("theirs\n", encoding="utf-8")
        return real_payroll(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(report_module, "payroll_csv", meanwhile)
    monkeypatch.chdir(tmp_path)
    code, _, err = run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", "out.csv", "--payroll", "pay.csv")
    assert code == 5
    assert err == "error: out.csv exists; use --force to overwrite it\n"
    assert names(tmp_path) == ["out.csv"]
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "theirs\n"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="only root can give a file to another owner")
def test_a_replaced_file_keeps_its_owner_and_group(tmp_path: Path) -> None:
    """``--force`` over a colleague's 0640 file: the new one is still theirs, their group's and 0640."""
    target = tmp_path / "pay.csv"
    target.write_text("old\n", encoding="utf-8")
    os.chown(target, 4321, 4322)
    target.chmod(0o640)
    assert run(*EVALUATE, "-o", str(tmp_path / "out.csv"), "--payroll", str(target), "--force")[0] == 1
    info = os.stat(target)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4322, 0o640)
    assert target.read_text(encoding="utf-8").startswith("agent_id,")


def test_ctrl_c_in_process_is_exit_130_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the payroll is being made: ``interrupted``, exit 130, no output and no temporary."""

    def interrupted(*args: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "payroll_csv", interrupted)
    monkeypatch.chdir(tmp_path)
    code, _, err = run("evaluate", str(STARS), str(SAMPLE_MONTH), "-o", "out.csv", "--payroll", "pay.csv")
    assert (code, err) == (130, "interrupted\n")
    assert names(tmp_path) == []


def test_a_signal_during_the_renames_waits_for_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C arriving between two renames: both are done (never half a set), then the run reports it."""
    real_replace = os.replace

    def interrupted_once(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        real_replace(source, target)
        if Path(target).name == "out.csv":
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(outputs_module.os, "replace", interrupted_once)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(*EVALUATE, "-o", "out.csv", "--payroll", "pay.csv")
    assert (code, err.splitlines()[-1]) == (130, "interrupted")
    assert names(tmp_path) == ["out.csv", "pay.csv"]


def test_an_unexpected_exception_is_one_line_and_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug is one line asking for a report, exit 70; TIERPAY_DEBUG=1 adds the traceback."""

    def broken(*args: object) -> str:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(report_module, "payroll_csv", broken)
    monkeypatch.delenv("TIERPAY_DEBUG", raising=False)
    argv = ("evaluate", str(STARS), str(SAMPLE_MONTH), "--payroll", "-", "-o", os.devnull)
    assert run(*argv)[0::2] == (70, "internal error: RuntimeError: boom (please report)\n")
    monkeypatch.setenv("TIERPAY_DEBUG", "1")
    code, _, err = run(*argv)
    assert code == 70
    assert err.startswith("Traceback (most recent call last):\n")
    assert err.endswith("RuntimeError: boom\nsecond line\ninternal error: RuntimeError: boom (please report)\n")


def test_every_command_writes_through_the_output_set(tmp_path: Path) -> None:
    """Each command that writes -o leaves just its file: no temporary, and 0666 less the umask."""
    mask = os.umask(0o027)
    try:
        commands = {
            "evaluate": ["evaluate", str(STARS), str(SAMPLE_MONTH)],
            "review": ["review", str(STARS), str(SAMPLE_MONTH)],
            "statement": ["statement", str(STARS), str(SAMPLE_MONTH)],
            "explain": ["explain", str(STARS), str(SAMPLE_MONTH), "--agent", "A001"],
            "diff": ["diff", str(STARS), str(STARS), str(SAMPLE_MONTH)],
            "schema": ["schema"],
            "stream": ["evaluate", str(STARS), str(SAMPLE_MONTH), "--format", "csv", "--stream"],
        }
        for name, argv in commands.items():
            assert run(*argv, "-o", str(tmp_path / name))[0] in (0, 1), name
    finally:
        os.umask(mask)
    assert names(tmp_path) == sorted(commands)
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in tmp_path.iterdir()} == {0o640}


def test_the_messages_on_the_errors_page_are_what_tierpay_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each output message docs/reference/errors.md shows is printed, word for word, by the run it stands for."""
    page = (ROOT / "docs" / "reference" / "errors.md").read_text(encoding="utf-8")
    shown = page.split("### The messages", 1)[1].split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "records.csv").write_bytes(SAMPLE_MONTH.read_bytes())
    (tmp_path / "outdir").mkdir()
    runs = [
        ["-o", "out.csv", "--state-out", "./out.csv"],
        ["-o", "records.csv", "--force"],
        ["--state-out", "-"],
        ["-o", "outdir", "--force"],
        ["-o", "missing/out.csv"],
        ["-o", "out.csv"],  # made by the first run that succeeds: the next one is refused
    ]
    if os.path.exists("/dev/full"):
        runs.append(["-o", "/dev/full"])
    printed = [run("evaluate", str(STARS), "records.csv", *argv)[2].splitlines()[-1] for argv in runs[:5]]
    assert run("evaluate", str(STARS), "records.csv", "-o", "out.csv")[0] == 1
    printed += [run("evaluate", str(STARS), "records.csv", *argv)[2].splitlines()[-1] for argv in runs[5:]]
    for line in printed:
        assert line in shown


def test_standard_output_closed_at_the_start_is_exit_5(tmp_path: Path) -> None:
    """Started with standard output closed (``>&-``): exit 5 in one line; with ``-o`` the run needs none."""
    shell = ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "tierpay", *EVALUATE]
    done = subprocess.run(shell, cwd=tmp_path, capture_output=True, check=False, timeout=120)
    assert done.returncode == 5
    assert done.stderr.decode().splitlines()[-1] == "error: standard output: cannot write: it is closed"
    done = subprocess.run([*shell, "-o", "out.csv"], cwd=tmp_path, capture_output=True, check=False, timeout=120)
    assert done.returncode == 1
    assert names(tmp_path) == ["out.csv"]


def test_an_output_over_a_file_the_ruleset_reads_is_refused(tmp_path: Path) -> None:
    """The base a ruleset extends and its minimum-wage table are inputs too: exit 2, both kept."""
    (tmp_path / "rulesets").mkdir()
    (tmp_path / "examples" / "rulesets").mkdir(parents=True)
    for name in ("callcenter-stars.yaml", "minimum-wage-2026.yaml"):
        (tmp_path / "rulesets" / name).write_bytes((STARS.parent / name).read_bytes())
    draft = tmp_path / "examples" / "rulesets" / "draft.yaml"  # extends ../../rulesets/callcenter-stars.yaml
    draft.write_bytes((ROOT / "examples" / "rulesets" / "callcenter-stars-qa-raised.yaml").read_bytes())
    before = {p: p.read_bytes() for p in (tmp_path / "rulesets").iterdir()}
    base, table = tmp_path / "rulesets" / "callcenter-stars.yaml", tmp_path / "rulesets" / "minimum-wage-2026.yaml"
    for target in (base, table):
        code, _, err = run(
            "evaluate", str(draft), str(SAMPLE_MONTH), "--payroll", str(target), "--force", "--allow-outside-files"
        )
        assert code == 2
        assert err.startswith(f"error: --payroll {target} is a file of the ruleset ")
        assert err.endswith(": an output may not replace an input\n")
    diff = ("diff", str(base), str(draft), str(SAMPLE_MONTH), "-o", str(table), "--force", "--allow-outside-files")
    assert run(*diff)[0] == 2
    assert {p: p.read_bytes() for p in (tmp_path / "rulesets").iterdir()} == before


def test_what_kill_9_leaves_the_next_run_removes(tmp_path: Path) -> None:
    """A run killed outright leaves its temporary; the next run writing the same file removes it."""
    with tierpay(
        "evaluate", str(STARS), str(SAMPLE_H1), "--format", "json", "--payroll", "pay.csv",
        cwd=tmp_path, stdout=subprocess.PIPE,
    ) as process:  # fmt: skip
        deadline = time.monotonic() + 120
        while not names(tmp_path):
            assert time.monotonic() < deadline, "the run never staged its outputs"
            time.sleep(0.05)
        process.kill()
        process.communicate(timeout=120)
    [left] = names(tmp_path)
    assert left.startswith(f".pay.csv.tierpay-{process.pid}-")
    assert left.endswith(".tmp")
    assert run(*EVALUATE, "--payroll", str(tmp_path / "pay.csv"), "-o", os.devnull)[0] == 1
    assert names(tmp_path) == ["pay.csv"]
