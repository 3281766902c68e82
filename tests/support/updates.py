"""What the update tests of both tiers share: an article to add, one change of each kind
to the sample corpus, a feed's near copy of a story, and every question's ranking, the live
version and a rebuild to compare an updated index with."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from rag.archive import Archive
from rag.config import Settings
from rag.index.store import current_version_dir
from rag.records import Article, SearchOptions

NEW_ARTICLE = (
    "---\ntitle: 新文章\ndate: 2024-01-02\nfrom: https://example.org/a\n---\n\n"
    "北极熊数量在过去十年里显著下降，科学家呼吁加强保护。\n"
)
RFI_STOCKTAKE = "000_ea12142fd580669e.txt"  # the sample article that answers QUESTION
QUESTIONS = ["中美在COP28上承诺了什么", "北极熊", "全球盘点", "克里 解振华", "更正"]


def rankings(archive: Archive) -> dict[tuple[str, str], list[tuple[str, float, float]]]:
    """Every question's top 10 per mode: (passage id, cosine, ranking score)."""
    found = {}
    for mode in ("dense", "keyword", "hybrid"):
        for question in QUESTIONS:
            options = SearchOptions(k=10, mode=mode, per_article=10, min_score=0)
            hits = archive.search(question, options).hits
            found[mode, question] = [(h.chunk.id, h.score, h.rank_score) for h in hits]
    return found


def change_corpus(corpus: Path) -> None:
    """One article added, one removed, one edited."""
    (corpus / "new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    (corpus / "001_b51a48158384c388.txt").unlink()
    changed = corpus / "002_37bebe61abe63fad.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n<p>更正：本文已更新。</p>\n", "utf-8"
    )


def near_copy(original: Path, target: Path) -> None:
    """The same story re-saved by a feed: new date and URL, boilerplate changed."""
    text = original.read_text(encoding="utf-8")
    text = re.sub(r"<!--\d+-->", "<!--1700150000000-->", text, count=1)
    text = re.sub(
        r"\]\(https://www\.rfi\.fr/cn/[^)]*\)", "](https://rfi.my/mirror/ABC)", text, count=1
    )
    text = text.replace("<div>15/11/2023 - 15:55</div>", "<div>16/11/2023 - 10:00</div>")
    text += "\n<p>本文转载自法广中文网，转载请注明出处。</p>\n"
    target.write_text(text, encoding="utf-8")


def build_with_two_copies_of_the_stocktake(settings: Settings, corpus: Path) -> Archive:
    """Builds ``corpus`` (a copy of the sample) with an exact and a near copy of the
    stocktake article beside it: both merge into it, no distinct article does."""
    original = corpus / RFI_STOCKTAKE
    shutil.copy(original, corpus / "exact-copy.txt")
    near_copy(original, corpus / "near-copy.txt")
    archive = Archive(settings)
    report = archive.build([str(corpus)])
    assert report.articles == 5
    assert report.duplicates_merged == 2
    return archive


def check_merged_article(article: Article) -> None:
    """The stocktake article merged with its near copy: both URLs, both dates."""
    assert "https://rfi.my/mirror/ABC" in article.urls
    assert len(article.urls) == 2
    assert len({d.date() for d in article.dates}) == 2


def settings_with_a_warm_cache(tmp_path: Path, built: Settings, **fields: str) -> Settings:
    """Settings for a new index in ``tmp_path`` whose embedding cache, its own, holds
    exactly the vectors of the index ``built`` describes: an update's ``embedded`` then
    counts precisely the texts it introduces (``fields``: further settings)."""
    shutil.copytree(built.embedding_cache_dir, tmp_path / "cache")
    return Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", **fields)


def live_dir(config: Settings) -> Path:
    """The live version's directory of ``config``'s index."""
    return current_version_dir(config.index_dir)


def rebuilt(config: Settings, corpus: Path, tmp_path: Path) -> Archive:
    """``corpus`` built from scratch with ``config``'s settings into ``tmp_path/rebuilt``."""
    archive = Archive(config.with_overrides("test", index_dir=tmp_path / "rebuilt"))
    archive.build([str(corpus)])
    return archive
