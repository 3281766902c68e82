"""Duplicate merging on the real sample articles and re-dated copies of them."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.sample import ROOT

from rag.ingest import load_article, merge_duplicates
from rag.ingest.dedup import NEAR_DUPLICATE_THRESHOLD, jaccard
from rag.records import Article

SAMPLES = sorted((ROOT / "corpus" / "sample").glob("*.txt"))
LATER_MS = 1_800_000_000_000


@pytest.fixture(scope="module")
def samples() -> list[Article]:
    return [load_article(path)[0] for path in SAMPLES]


def _near_copy(
    path: Path, directory: Path, *, drop_last_paragraph: bool = False, tag: str = "rss"
) -> Article:
    """The same story saved again: new date, new URL, boilerplate lines changed."""
    header, body = path.read_text("utf-8").split("------\n", 1)
    link = header.split("\n")[1]
    new_header = f"<!--{LATER_MS}-->\n{link[:-1]}?utm_source={tag})\n------\n"
    body = (
        "<p>本文转载自RSS镜像，更新于2024年1月1日。</p>"
        + body.replace("获取更多RSS", "获取更多订阅源")
        + "<p>欢迎订阅我们的新闻通讯，每日推送精选报道。</p>"
    )
    if drop_last_paragraph:
        parts = body.split("</p>")
        body = "</p>".join(parts[:-3] + parts[-2:])
    copy = directory / f"copy-{tag}-{path.name}"
    copy.write_text(new_header + body, "utf-8")
    return load_article(copy)[0]


def test_five_distinct_samples_stay_five(samples: list[Article]) -> None:
    assert len(merge_duplicates(samples)) == 5
    for left, right in itertools.combinations(samples, 2):
        assert jaccard(left.text, right.text) < 0.1


def test_exact_copies_merge_by_url_and_by_hash(samples: list[Article]) -> None:
    first = samples[0]
    later = datetime(2024, 1, 1, tzinfo=UTC)
    same_url = replace(
        first, id="other", published=later, dates=(later,), text="改过的正文", content_hash="x"
    )
    same_text = replace(
        first, id="third", url="https://mirror.example/a", urls=("https://mirror.example/a",)
    )
    merged = merge_duplicates([*samples, same_url, same_text])
    assert len(merged) == 5
    story = merged[0]
    assert story.id == first.id and story.text == first.text
    assert story.urls == (first.url, "https://mirror.example/a")
    assert story.dates == (first.published, later)
    assert story.published == first.published


def test_near_copies_merge_keeping_all_urls_and_dates(
    samples: list[Article], tmp_path: Path
) -> None:
    copies = [_near_copy(path, tmp_path) for path in SAMPLES]
    shortened = _near_copy(SAMPLES[0], tmp_path, drop_last_paragraph=True, tag="mirror")
    for original, copy in zip(samples, copies, strict=True):
        assert copy.url != original.url and copy.content_hash != original.content_hash
        assert jaccard(original.text, copy.text) >= NEAR_DUPLICATE_THRESHOLD
    assert jaccard(samples[0].text, shortened.text) >= NEAR_DUPLICATE_THRESHOLD
    merged = merge_duplicates([*copies, *samples, shortened])
    assert len(merged) == 5
    for story, copy, original in zip(merged, copies, samples, strict=True):
        assert story.id == copy.id, "first-seen id kept"
        assert original.url in story.urls and copy.url in story.urls
        assert story.published == original.published, "earliest date wins"
        assert set(story.dates) == {copy.published, original.published}
    assert merged[0].urls == (copies[0].url, samples[0].url, shortened.url)


def test_merge_keeps_first_seen_id_and_order(samples: list[Article]) -> None:
    reordered = [samples[2], samples[0], samples[2]]
    merged = merge_duplicates(reordered)
    assert [a.id for a in merged] == [samples[2].id, samples[0].id]
