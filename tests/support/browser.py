"""Headless Chromium for the page's tests: the system's browser, a page at a viewport
with its script errors collected, and what the tests measure on a rendered page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from support.sample import ROOT

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "tests" / "artifacts"
# Chromium logs every 4xx/5xx response as a console error; a test that asks for one
# expects it
FAILED_RESPONSE = "Failed to load resource: the server responded with a status of"


def _chromium() -> str | None:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """The system's Chromium under Playwright; the test skips when there is none."""
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium not found (apt-get install chromium; make test tries to)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(
    browser: Any, width: int, height: int, locale: str = "zh-CN", touch: bool = False
) -> Iterator[Any]:
    """A page at ``width`` x ``height`` whose script errors collect in ``page.js_errors``
    (a phone's touch screen with ``touch``)."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale=locale,
        is_mobile=touch,
        has_touch=touch,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def script_errors(page: Any) -> list[str]:
    """The page's script errors, less the console lines for error responses."""
    return [e for e in page.js_errors if not e.startswith(FAILED_RESPONSE)]


def overflow(page: Any) -> dict[str, int]:
    """How wide the document is against the screen (wider means a sideways scroll)."""
    # the width the page was opened at, not window.innerWidth: a phone's browser
    # (is_mobile) widens its layout viewport to a page that overflows, innerWidth with it
    scroll: int = page.evaluate("() => document.documentElement.scrollWidth")
    return {"scroll": scroll, "viewport": page.viewport_size["width"]}


def buttons_that_do_not_fit(page: Any) -> list[dict[str, Any]]:
    """Every visible button (and the filters' summary line) that sticks out of the
    screen sideways or whose label takes more than one line."""
    found: list[dict[str, Any]] = page.evaluate(
        """(width) => Array.from(document.querySelectorAll('button, summary'))
            .filter(b => b.getClientRects().length > 0)
            .map(b => {
                const box = b.getBoundingClientRect();
                const range = document.createRange();
                range.selectNodeContents(b);
                const tops = new Set(Array.from(range.getClientRects())
                    .filter(r => r.width > 0).map(r => Math.round(r.top)));
                return {label: b.textContent.trim(), id: b.id, left: box.left,
                        right: box.right, lines: tops.size};
            })
            .filter(b => b.left < 0 || b.right > width || b.lines > 1)""",
        page.viewport_size["width"],
    )
    return found
