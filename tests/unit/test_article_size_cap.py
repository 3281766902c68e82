"""An article too long to be worth embedding (a log or a data dump saved as .txt) is
skipped with one warning, like an unreadable file, and the rest of the archive is built;
the cap is the article's text, what embedding costs, not its file's bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.sample import SAMPLE

from rag.archive import Archive
from rag.config import Settings


def test_an_article_over_the_cap_is_skipped_and_the_rest_is_built(
    hash_settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    (corpus / "dump.txt").write_text("数据行，没有新闻。\n" * 400, encoding="utf-8")  # 4,000 chars
    # the same bytes in HTML: most of a page's bytes are markup, only its text counts
    page = (
        "<html><body><p>短新闻正文，内容不长。</p>"
        + "<div class='x'></div>" * 500
        + "</body></html>"
    )
    (corpus / "page.html").write_text(page, encoding="utf-8")
    settings = hash_settings.with_overrides("test", max_article_chars=3_000)

    report = Archive(settings).build([str(corpus)])
    assert report.articles == 6  # the five sample articles and the short page
    [failure] = [f for f in report.failures if f.skipped]
    assert failure.path.endswith("dump.txt")
    assert "characters, over the max_article_chars limit of 3,000" in failure.reason

    roomier = settings.with_overrides("test", max_article_chars=5_000)
    assert Archive(roomier).build([str(corpus)]).articles == 7
