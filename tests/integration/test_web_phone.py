"""The search page on a phone's screen (390, 360 and 320 px wide), in headless Chromium: it
fits without a sideways scroll, the buttons are whole, errors are in Chinese, an
unanswerable question is not dressed as an answer, dates read YYYY-MM-DD, the watches
and what each reported are listed, and the keyboard and the back button work. The
desktop page is in test_web_browser.py."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from support.browser import (
    buttons_that_do_not_fit,
    launched_chromium,
    open_page,
    overflow,
    screenshot,
    script_errors,
)
from support.sample import QUESTION, SAMPLE
from support.web_support import RFI

from rag.archive import Archive
from rag.config import Settings
from rag.records import BuildReport
from rag.web.server import running_server

pytestmark = pytest.mark.browser

PHONES = [(390, 844), (320, 568)]
UNANSWERABLE = "火星上有几只猫"  # nothing in the sample is about it: the API finds no answer
LONG_TITLE = "Supercalifragilistic-climate-stocktake-agreement-explained-in-every-detail-" * 2
LONG_HOST = "www.an-outlet-whose-name-is-far-longer-than-any-phone-screen-is-wide.example"
LONG_URL = f"https://{LONG_HOST}/en/2023/11/15/" + "a-very-long-english-slug-" * 8 + "end.html"


def write_long_english_article(directory: Path) -> Path:
    """A copy of the RFI sample with an English title, outlet and URL that have no
    place to break, and the URL again in its text."""
    raw = (SAMPLE / RFI).read_text(encoding="utf-8")
    head, sep, body = raw.partition("<p><strong>")
    head = head.replace("[中美气候合作声明有何新意？]", f"[{LONG_TITLE}]", 1)
    head = re.sub(r"\]\(https://www\.rfi\.fr/[^)]*\)", f"]({LONG_URL})", head, count=1)
    path = directory / "long-english.txt"
    path.write_text(head + f"<p>全文见 {LONG_URL} 。全球盘点决定仍是焦点。</p>" + sep + body)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def long_index(
    tmp_path_factory: pytest.TempPathFactory,
    embedding_cache: Path,
    sample_index: tuple[Settings, BuildReport],
) -> Settings:
    """The sample with the long English article beside it."""
    root = tmp_path_factory.mktemp("phone")
    corpus = root / "corpus"
    shutil.copytree(SAMPLE, corpus)
    write_long_english_article(corpus)
    settings = Settings(index_dir=root / "index", cache_dir=embedding_cache)
    Archive(settings).build([str(corpus)])
    return settings


@pytest.fixture(params=PHONES, ids=lambda size: f"{size[0]}px")
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    width, height = request.param
    with open_page(browser, width, height, touch=True) as page:
        yield page


def check_fits(page: Any, what: str) -> None:
    """No sideways scroll, and every button whole, on one line, inside the screen."""
    size = overflow(page)
    assert size["scroll"] <= size["viewport"], (what, size)
    assert buttons_that_do_not_fit(page) == [], what


def wait_for_status(page: Any) -> str:
    page.wait_for_function(
        "() => { const s = document.getElementById('status').textContent;"
        " return s && !s.endsWith('…'); }"
    )
    text: str = page.locator("#status").inner_text()
    return text


def open_filters(page: Any) -> None:
    """Unfold the filters (folded on a phone)."""
    box = page.locator("#filters-box")
    if box.count() and box.get_attribute("open") is None:
        page.click("#filters-box summary")


@pytest.mark.parametrize("phone", [*PHONES, (360, 740)], indirect=True, ids=lambda s: f"{s[0]}px")
def test_the_page_fits_a_phone(phone: Any, long_index: Settings) -> None:
    width = phone.viewport_size["width"]
    with running_server(long_index) as url:
        phone.goto(url + "/")
        phone.wait_for_function("() => document.getElementById('foot').textContent")
        check_fits(phone, "the empty page")
        open_filters(phone)
        check_fits(phone, "the filters")
        screenshot(phone, f"phone-{width}-start.png", full_page=True)

        phone.fill("#q", "全球盘点决定")
        phone.click("#ask-button")
        phone.wait_for_selector(".passage")
        long_one = phone.locator(".passage", has_text=LONG_TITLE[:30]).first
        long_one.wait_for()  # the long English title and outlet are on the page
        assert LONG_HOST.removeprefix("www.") in long_one.locator(".meta").inner_text()
        check_fits(phone, "passages with a long English title and URL")
        screenshot(phone, f"phone-{width}-answer.png", full_page=True)

        long_one.click()  # the reader covers the screen, with the URL in its text
        phone.locator("#reader-mark").wait_for(state="visible")
        assert LONG_URL in phone.locator("#reader-text").inner_text()
        box = phone.locator("#reader").bounding_box()
        assert box["x"] == 0 and box["width"] == width
        close = phone.locator("#reader-close").bounding_box()
        assert close["y"] >= 0 and close["y"] + close["height"] <= phone.viewport_size["height"]
        check_fits(phone, "the article reader")
        screenshot(phone, f"phone-{width}-reader.png")
        phone.click("#reader-close")
        phone.wait_for_selector("#reader", state="hidden")

        phone.click("#timeline-button")
        phone.wait_for_selector(".timeline-entry")
        check_fits(phone, "the timeline")
        screenshot(phone, f"phone-{width}-timeline.png", full_page=True)
    assert script_errors(phone) == []


def test_the_page_at_desktop_width(browser: Any, long_index: Settings) -> None:
    with open_page(browser, 1440, 900) as page, running_server(long_index) as url:
        page.goto(url + "/?q=" + quote("全球盘点决定"))
        page.wait_for_selector(".passage")
        assert page.locator("#filters-box").get_attribute("open") is not None
        buttons = page.locator(".actions button")
        tops = [buttons.nth(i).bounding_box()["y"] for i in range(buttons.count())]
        question = page.locator("#q").bounding_box()
        assert tops == [question["y"]] * 3  # the buttons beside the question, not under it
        check_fits(page, "the desktop page")
        page.locator(".passage").first.click()
        page.locator("#reader-mark").wait_for(state="visible")
        reader = page.locator("#reader").bounding_box()
        assert reader["x"] > 700  # a side panel beside the passages, not over them
        check_fits(page, "the desktop page with the reader")
        screenshot(page, "desktop-1440.png")
        page.click("#watches-button")  # no watch yet: the page says how to add one
        page.wait_for_function(
            "() => document.getElementById('status').textContent.startsWith('还没有关注的问题')"
        )
        assert "rag watch add" in page.locator("#status").inner_text()
        assert page.locator(".passage").count() == 0 and page.locator("#reader").is_hidden()
        assert script_errors(page) == []


HOSTILE_QUESTION = "<img src=x onerror=__xss=1>气候"


@pytest.fixture(scope="module")
def watched_index(long_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the long index with two watches: one checked, whose first check reported
    the sample's relevant stories, and one with markup in its question, never checked."""
    index = tmp_path_factory.mktemp("watched") / "index"
    shutil.copytree(long_index.index_dir, index)
    settings = Settings(index_dir=index, cache_dir=long_index.cache_dir)
    watches = Archive(settings).watches()
    watches.add(QUESTION, name="climate", since=date(2000, 1, 1))
    watches.add(HOSTILE_QUESTION, name="never")
    (digest,) = watches.check("climate")
    assert digest.items, "the sample has stories for the watch"
    return settings


@pytest.mark.parametrize("phone", [*PHONES, (1440, 900)], indirect=True, ids=lambda s: f"{s[0]}px")
def test_the_watches_and_what_each_reported(phone: Any, watched_index: Settings) -> None:
    width = phone.viewport_size["width"]
    before = Archive(watched_index).watches().latest("climate")
    with running_server(watched_index) as url:
        phone.goto(url + "/")
        phone.click("#watches-button")
        phone.wait_for_selector(".watch")
        assert phone.url.endswith("?view=watches")
        assert phone.locator("#watches-button").get_attribute("aria-pressed") == "true"
        assert wait_for_status(phone).startswith("关注 2 个问题")
        climate, never = phone.locator(".watch").all()
        assert climate.locator("h3").inner_text() == QUESTION
        meta = climate.locator(".meta").first.inner_text()
        assert "上次检查 " + before.watch.last_checked.strftime("%Y-%m-%d %H:%M UTC") in meta
        assert f"共报告 {before.watch.reported} 篇" in meta
        assert climate.locator("a.feed").get_attribute("href") == "/watch/climate.atom"
        items = climate.locator(".watch-item")
        shown = before.items[:10]
        assert items.count() == len(shown)
        for n, reported in enumerate(shown):
            item = items.nth(n)
            assert item.locator(".title").inner_text() == reported.title
            line = item.locator(".meta").inner_text()
            assert reported.published and line.startswith(reported.published.date().isoformat())
            assert reported.outlet in line
            assert item.locator(".meta a").get_attribute("href") == reported.url
            assert item.locator(".sentence").inner_text() == reported.sentence
        # the question's markup is text, never an element
        assert never.locator("h3").inner_text() == HOSTILE_QUESTION
        assert "尚未检查" in never.locator(".meta").inner_text()
        assert never.locator(".none").inner_text() == "还没有报告过新文章"
        assert phone.evaluate("() => [document.images.length, window.__xss]") == [0, None]
        check_fits(phone, "the watches")
        screenshot(phone, f"watches-{width}.png", full_page=True)

        items.first.click()  # an item opens its article
        phone.wait_for_selector("#reader", state="visible")
        phone.wait_for_function(
            "t => document.getElementById('reader-title').textContent === t", arg=shown[0].title
        )
        check_fits(phone, "an article opened from a watch")
        phone.click("#reader-close")
        phone.wait_for_selector("#reader", state="hidden")

        phone.goto(url + "/?view=watches")  # the view has its own address
        phone.wait_for_selector(".watch-item")
    after = Archive(watched_index).watches().latest("climate")
    assert after == before  # the page read the watches; it checked nothing
    assert script_errors(phone) == []


def test_a_server_error_is_shown_in_chinese(
    phone: Any, sample_index: tuple[Settings, BuildReport], tmp_path: Path
) -> None:
    hostile = "<img src=x onerror=__xss=1>"  # echoed back in the server's message
    with running_server(sample_index[0]) as url:
        phone.goto(url + "/?q=" + quote("气候") + "&since=" + quote(hostile))
        status = wait_for_status(phone)
        assert status.startswith("出错了：日期无效"), status
        assert "invalid" not in status
        detail = phone.locator("#status-detail").inner_text()
        assert f"invalid date '{hostile}'" in detail  # the server's words, as text
        assert phone.evaluate("() => [document.images.length, window.__xss]") == [0, None]
        check_fits(phone, "an error")
        screenshot(phone, f"phone-{phone.viewport_size['width']}-error.png")

    with running_server(Settings(index_dir=tmp_path / "no-index")) as url:
        phone.goto(url + "/")
        phone.wait_for_function("() => document.getElementById('foot').textContent")
        assert phone.locator("#foot").inner_text().startswith("索引状态不可用：索引暂时不可用")
        phone.fill("#q", QUESTION)
        phone.press("#q", "Enter")
        status = wait_for_status(phone)
        assert status.startswith("出错了：索引暂时不可用"), status
        assert re.search(r"[A-Za-z]{3,}", status) is None, status  # no English in it
        assert str(tmp_path / "no-index") in phone.locator("#status-detail").inner_text()
    assert script_errors(phone) == []


def passage_look(page: Any) -> dict[str, str]:
    look: dict[str, str] = page.evaluate(
        """() => { const item = getComputedStyle(document.querySelector('.passage'));
            return {heading: document.querySelector('#passages-section h2').textContent,
                    border: item.borderTopStyle, color: item.color,
                    background: item.backgroundColor}; }"""
    )
    return look


def test_an_unanswerable_question_shows_no_hits(
    phone: Any, sample_index: tuple[Settings, BuildReport]
) -> None:
    with running_server(sample_index[0]) as url:
        phone.goto(url + "/?q=" + quote(QUESTION))
        phone.wait_for_selector(".passage")
        assert wait_for_status(phone).startswith("找到")
        answered = passage_look(phone)
        assert answered["heading"] == "相关段落"

        phone.fill("#q", UNANSWERABLE)
        phone.click("#ask-button")
        phone.wait_for_function("() => !document.getElementById('ask-button').disabled")
        phone.wait_for_selector(".passage")  # the closest passages are still listed ...
        closest = passage_look(phone)
        assert "不是答案" in closest["heading"]  # ... headed as what they are
        assert phone.locator("#passages-note").is_visible()
        assert phone.locator("#answer").is_hidden()
        for key in ("border", "color", "background"):  # ... and muted
            assert closest[key] != answered[key], (key, closest, answered)
        status = wait_for_status(phone)
        assert status.startswith("没有找到答案"), status
        check_fits(phone, "the closest passages")
        screenshot(phone, f"phone-{phone.viewport_size['width']}-no-answer.png", full_page=True)
    assert script_errors(phone) == []


def test_dates_show_and_take_yyyy_mm_dd(
    browser: Any, sample_index: tuple[Settings, BuildReport]
) -> None:
    # en-US: the locale whose date inputs showed mm/dd/yyyy
    with (
        open_page(browser, 390, 844, locale="en-US", touch=True) as page,
        running_server(sample_index[0]) as url,
    ):
        page.goto(url + "/")
        open_filters(page)
        for field in ("#since", "#until", "#as-of"):
            # what a date input shows is the browser's choice; a text field shows its value
            assert page.get_attribute(field, "type") != "date"
            assert page.get_attribute(field, "placeholder") == "YYYY-MM-DD"
        page.locator("#since").press_sequentially("20231113")  # a phone's digit keypad
        assert page.input_value("#since") == "2023-11-13"
        page.fill("#until", "2023/11/19")
        page.press("#until", "Tab")
        assert page.input_value("#until") == "2023-11-19"
        assert "已设 2 项" in page.locator("#filters-box summary").inner_text()

        page.fill("#q", QUESTION)
        page.press("#q", "Enter")
        page.wait_for_selector(".passage")
        assert "since=2023-11-13&until=2023-11-19" in page.url
        metas = page.locator(".passage .meta").all_inner_texts()
        assert metas and all(re.match(r"2023-11-1[3-9]", m) for m in metas), metas
        # a closed filter box says that filters are set
        assert page.locator("#filters-box").get_attribute("open") is None
        assert "已设 2 项" in page.locator("#filters-box summary").inner_text()

        open_filters(page)
        page.fill("#since", "2023-13-01")  # no such day: not sent, and the field says why
        before = page.url
        page.press("#q", "Enter")
        page.wait_for_timeout(300)
        assert page.url == before
        assert "YYYY-MM-DD" in page.evaluate(
            "() => document.getElementById('since').validationMessage"
        )
        page.fill("#since", "2023-11-20")  # a range that ends before it starts
        page.press("#q", "Enter")
        page.wait_for_timeout(300)
        assert page.url == before
        assert page.evaluate("() => document.getElementById('until').validationMessage")

        page.go_back()  # the dates come back from the URL as YYYY-MM-DD
        page.wait_for_function("() => document.getElementById('since').value === ''")
        page.go_forward()
        page.wait_for_function("() => document.getElementById('since').value === '2023-11-13'")
        assert script_errors(page) == []


def test_keyboard_and_back_button_on_a_phone(
    phone: Any, sample_index: tuple[Settings, BuildReport]
) -> None:
    with running_server(sample_index[0]) as url:
        phone.goto(url + "/")
        phone.focus("#q")
        phone.keyboard.type(QUESTION)
        phone.keyboard.press("Enter")  # Enter asks
        phone.wait_for_selector(".passage")
        search_url = phone.url
        assert "q=" in search_url

        phone.focus("#passage-1")
        focus = phone.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                return [document.activeElement.id, s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
        )
        assert focus[0] == "passage-1" and focus[1] != "none" and focus[2] >= 2, focus
        phone.keyboard.press("Enter")  # opens the article over the page, focus inside it
        phone.locator("#reader-mark").wait_for(state="visible")
        assert phone.evaluate(
            "() => document.getElementById('reader').contains(document.activeElement)"
        )
        phone.keyboard.press("Escape")  # closes it, focus back on the passage
        phone.wait_for_selector("#reader", state="hidden")
        assert phone.evaluate("() => document.activeElement.id") == "passage-1"
        assert phone.url == search_url

        phone.click("#passage-2")
        phone.locator("#reader-mark").wait_for(state="visible")
        phone.go_back()  # the phone's back button closes the article, not the search
        phone.wait_for_selector("#reader", state="hidden")
        assert phone.url == search_url
        assert phone.locator(".passage").count() > 0
        assert phone.evaluate("() => document.body.classList.contains('reader-open')") is False
    assert script_errors(phone) == []
