"""A real browser for the tests and the docs' screenshots: headless Chromium from the OS packages.

``.ci/run`` installs Debian's ``chromium`` and ``fonts-noto-cjk`` and sets
``TIERPAY_REQUIRE_BROWSER=1``, so there a missing browser fails the tests; elsewhere the
browser tests are skipped, saying how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "apt-get install chromium fonts-noto-cjk (Debian), or set TIERPAY_CHROMIUM to a Chromium binary"
FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: no calls home
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # a page that tried to fetch anything would find nothing
)


def chromium() -> str | None:
    """The Chromium binary: ``TIERPAY_CHROMIUM``, else the first of the usual names on the PATH."""
    named = os.environ.get("TIERPAY_CHROMIUM")
    if named:
        return named
    return next((found for name in NAMES if (found := shutil.which(name))), None)


def required() -> bool:
    """Whether a missing browser is a failure (in CI) rather than a skip."""
    return os.environ.get("TIERPAY_REQUIRE_BROWSER", "") not in ("", "0")


def _run(binary: str, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def dom(binary: str, page: Path) -> str:
    """The page's document after Chromium has loaded and laid it out, as HTML."""
    return _run(binary, page, "--dump-dom").stdout


def screenshot(binary: str, page: Path, png: Path, width: int = 1100, height: int = 2400) -> Path:
    """A PNG of the page as Chromium draws it, ``width`` × ``height`` pixels."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(binary, page, f"--window-size={width},{height}", f"--screenshot={png.resolve()}")
    return png


def pdf(binary: str, page: Path, out: Path) -> bytes:
    """The page printed to PDF as Chromium prints it (its print style, A4 where the page asks)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(binary, page, "--no-pdf-header-footer", f"--print-to-pdf={out.resolve()}")
    return out.read_bytes()


def pages(document: bytes) -> int:
    """How many pages a PDF has (its page objects)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", document))
