"""The search page in headless Chromium (Playwright driving the system's /usr/bin/chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import launched_chromium, open_page, screenshot
from support.sample import QUESTION, SAMPLE, STOCKTAKE
from support.web_support import (
    HOSTILE_MARKERS,
    HOSTILE_TITLE,
    RFI,
    write_hostile_article,
    write_syndicated_copy,
)

from rag.archive import Archive
from rag.config import Settings
from rag.records import BuildReport
from rag.web.server import running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser, 1280, 900) as page:
        yield page


def _ask(page: Any, url: str, question: str) -> None:
    page.goto(url + "/")
    page.fill("#q", question)
    page.click("#ask-button")
    page.wait_for_selector(".passage")


def test_ask_cite_and_open_the_article(
    page: Any, sample_index: tuple[Settings, BuildReport]
) -> None:
    with running_server(sample_index[0]) as url:
        _ask(page, url, QUESTION)
        cited = page.locator(".passage", has_text="全球盘点").first
        cited.wait_for()
        assert "rfi.fr" in cited.locator(".meta").inner_text()
        link = cited.locator(".meta a")
        assert link.get_attribute("href").startswith("https://www.rfi.fr/")
        assert cited.locator("mark").count() == 1  # the sentence that best matches

        if page.locator("#answer").is_visible():  # the extractive answer, with [n] markers
            marker = page.locator("#answer .cite").first
            target = marker.get_attribute("title").split()[-1]
            marker.click()
            page.wait_for_selector(f"#passage-{target}.flash")

        cited.click()
        mark = page.locator("#reader-mark")
        mark.wait_for(state="visible")
        assert STOCKTAKE in mark.inner_text()
        assert page.locator("#reader-title").inner_text() == "中美气候合作声明有何新意？"
        assert "全球盘点" in page.locator("#reader-text").inner_text()
        page.wait_for_function(
            "() => { const r = document.getElementById('reader-mark').getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }"
        )
        screenshot(page, "search-page.png")

        page.fill("#source", "no-such-source")  # filters reach the API
        page.click("#ask-button")
        page.wait_for_function("() => document.getElementById('status').textContent.length > 0")
        page.wait_for_selector("#passages-section", state="hidden")
        assert page.locator("#status").inner_text() == "没有符合筛选条件的段落"
        # the server's own words stay on the page, under the message in its language
        assert "no article matches" in page.locator("#status-detail").inner_text()
    assert page.js_errors == []


def test_hostile_article_renders_as_text(page: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_hostile_article(corpus)
    for name in SAMPLE.iterdir():
        if name.name != RFI:
            shutil.copy(name, corpus)
    settings = Settings(index_dir=tmp_path / "index")
    Archive(settings).build([str(corpus)])
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    with running_server(settings) as url:
        page.goto(url + "/?q=" + "全球盘点决定")  # the page runs a question in its URL
        page.wait_for_selector(".passage")
        hostile = page.locator(".passage", has_text=HOSTILE_TITLE).first
        hostile.wait_for()
        assert hostile.locator("a").count() == 0  # its javascript: URL is not made a link
        hostile.click()
        page.locator("#reader-mark").wait_for(state="visible")
        assert page.locator("#reader-title").inner_text() == HOSTILE_TITLE
        text = page.locator("#reader-text").inner_text()
        assert all(marker in text for marker in HOSTILE_MARKERS)
        page.wait_for_timeout(300)  # give an injected handler the chance to fire
        state = page.evaluate(
            """() => ({
                xss: window.__xss === undefined ? null : window.__xss,
                scripts: Array.from(document.scripts).map(s => s.getAttribute('src')),
                imgs: document.images.length,
                handlers: document.querySelectorAll('[onerror], [onload], [onclick]').length,
                links: Array.from(document.links).map(a => a.protocol)
                    .filter(p => p !== 'https:' && p !== 'http:'),
            })"""
        )
        screenshot(page, "hostile-article.png")
    assert dialogs == []
    assert state == {
        "xss": None,
        "scripts": ["/static/app.js"],
        "imgs": 0,
        "handlers": 0,
        "links": [],
    }


def test_timeline_view_and_time_window(page: Any, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    write_syndicated_copy(corpus)
    settings = Settings(index_dir=tmp_path / "index")
    Archive(settings).build([str(corpus)])
    with running_server(settings) as url:
        page.goto(url + "/")
        page.fill("#q", "中美气候合作")
        page.click("#timeline-button")
        page.wait_for_selector(".timeline-entry")
        entries = page.locator(".timeline-entry")
        dates = [entries.nth(i).locator("time").inner_text() for i in range(entries.count())]
        assert len(dates) == 5 and dates == sorted(dates), dates
        assert dates[0] == "2021-11-10" and dates[-1] == "2023-11-29"
        assert "时间线：5 篇文章" in page.locator("#status").inner_text()
        assert page.locator("#passages-section").is_hidden()
        folded = entries.filter(has_text="中美气候合作声明有何新意？")
        assert folded.count() == 1  # the syndicated copy is one entry, not two
        assert "也见于：zaobao.com.sg" in folded.locator(".also").inner_text()
        assert "view=timeline" in page.url  # the view is in the URL, so it can be shared
        screenshot(page, "timeline-page.png")

        sentence = folded.locator(".sentence").inner_text()
        folded.click()  # opens the article with the entry's sentence marked
        mark = page.locator("#reader-mark")
        mark.wait_for(state="visible")
        assert mark.inner_text() == sentence
        assert page.locator("#reader-title").inner_text() == "中美气候合作声明有何新意？"

        page.fill("#q", "上周中美气候谈判谈了什么")  # a time word, counted from 参照日期
        page.fill("#as-of", "2023-11-20")
        page.click("#ask-button")
        page.wait_for_selector(".passage")
        page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('时间范围')"
        )
        assert "时间范围 2023-11-13 – 2023-11-19（上周）" in page.locator("#status").inner_text()
        assert page.locator("#timeline-section").is_hidden()
        metas = page.locator(".passage .meta").all_inner_texts()
        assert metas and all(m.startswith("2023-11-15") for m in metas), metas

        page.go_back()  # back to the timeline, replayed from the URL
        page.wait_for_selector(".timeline-entry")
        assert page.locator(".timeline-entry").count() == 5
        assert page.input_value("#q") == "中美气候合作"
        assert page.input_value("#as-of") == ""  # the later search's date is not carried back
    assert page.js_errors == []
