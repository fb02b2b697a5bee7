"""A real headless chromium (Debian's) driven by Playwright, for the viewer page.

The tests skip, with the reason, only when chromium is missing and cannot be installed
(`apt-get install chromium` needs root). Playwright comes with the `test` extra.
`./run tests` and the CI install both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from viewer_browser_support import CHROMIUM_ARGS, OpenedPage


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real chromium through Playwright")


def _find_chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _install_chromium() -> str:
    """Try Debian's package; returns why it failed ('' on success)."""
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            return "not root and no sudo"
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        proc = subprocess.run(prefix + cmd, capture_output=True, text=True, env=env, check=False, timeout=900)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            return f"'{' '.join(cmd)}' failed: {tail}"
    return ""


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _find_chromium()
    if path is None:
        why = _install_chromium()
        path = _find_chromium()
        if path is None:
            why = why or "not found after installing"
            pytest.skip(f"chromium is not installed and could not be installed ({why})")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # part of the `test` extra: missing is an error

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser: Any, tmp_path: Path) -> Iterator[Callable[[Path], OpenedPage]]:
    """Write the page for a trace with `pgcheck view` and open it from file://."""
    from click.testing import CliRunner

    from pgcheck.cli import main

    opened: list[OpenedPage] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})

    def _open(trace: Path) -> OpenedPage:
        out = tmp_path / (trace.name.split(".")[0] + ".html")
        result = CliRunner().invoke(main, ["view", str(trace), "--out", str(out)])
        assert result.exit_code == 0, result.stderr
        page = context.new_page()
        handle = OpenedPage(page, out.resolve().as_uri())
        page.on("request", lambda request: handle.requests.append(request.url))
        page.on("pageerror", lambda error: handle.errors.append(str(error)))
        page.on("console", lambda msg: handle.errors.append(msg.text) if msg.type == "error" else None)

        def on_dialog(dialog: Any) -> None:
            handle.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(handle.url)
        page.wait_for_selector("body[data-ready='1']")
        opened.append(handle)
        return handle

    yield _open
    for handle in opened:
        # Nothing may leave the page: the only request is the page itself.
        assert handle.requests == [handle.url], handle.requests
        assert handle.errors == [], handle.errors
    context.close()
