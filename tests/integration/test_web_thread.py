"""The search page's conversation in headless Chromium over the sample index: three
questions in a row, the follow-ups completed (检索：...) and the thread shown, 新话题
starting over, on a desktop and a phone screen. The API's follow-ups with test-hash are in
tests/unit/test_web_followup.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.browser import launched_chromium, open_page, overflow, screenshot

from rag.config import Settings
from rag.records import BuildReport
from rag.web.server import running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


def _ask(page: Any, question: str) -> None:
    page.fill("#q", question)
    page.click("#ask-button")
    page.wait_for_function(
        "q => { const c = document.querySelector('#thread .current');"
        " return c && c.firstChild.textContent === q; }",
        arg=question,
    )


@pytest.mark.parametrize(("width", "height", "touch"), [(1280, 900, False), (360, 740, True)])
def test_a_three_turn_thread_and_a_new_topic(
    browser: Any, sample_index: tuple[Settings, BuildReport], width: int, height: int, touch: bool
) -> None:
    with (
        running_server(sample_index[0]) as url,
        open_page(browser, width, height, touch=touch) as page,
    ):
        page.goto(url + "/")
        assert page.locator("#thread-section").is_hidden()
        _ask(page, "中美格拉斯哥联合宣言承诺了什么？")
        assert page.locator("#thread li").count() == 1
        assert page.locator("#thread .searched").count() == 0  # asked as it was written
        _ask(page, "那甲烷呢？")
        assert page.locator("#thread .searched").inner_text() == "检索：格拉斯哥 联合宣言 承诺 甲烷"
        _ask(page, "他们要成立什么工作组？")
        items = page.locator("#thread li").all_inner_texts()
        assert len(items) == 3 and items[0] == "中美格拉斯哥联合宣言承诺了什么？"
        assert "检索：" in items[2] and "格拉斯哥" in items[2] and "甲烷" in items[2]
        assert "格拉斯哥" in page.locator("#passages").inner_text()
        assert page.url.count("previous=") == 2  # the thread is in the URL: back works
        screenshot(page, f"thread-{width}.png", full_page=True)
        fit = overflow(page)
        assert fit["scroll"] <= fit["viewport"], fit
        page.click("#new-topic")
        assert page.locator("#thread-section").is_hidden()
        _ask(page, "那甲烷呢？")
        assert page.locator("#thread li").count() == 1
        assert page.locator("#thread .searched").count() == 0  # nothing carried after 新话题
        assert page.js_errors == []
