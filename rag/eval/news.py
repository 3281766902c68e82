"""Retrieval quality on a news question set: questions with gold article URLs, some with
time words and the reference date they count from (``tests/data/news_questions.jsonl``).

Article level, through ``Archive.search`` as users call it, in four variants: time
words resolved to a date window and taken out of the query (the default), resolved but
kept in the query, not resolved at all, and without the newest-first preference for
最新 / latest questions. For questions with time words, "window
precision" is the share of the returned articles published inside the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from rag.archive import Archive
from rag.config import Settings
from rag.errors import RagError
from rag.eval.jsonl import read_records
from rag.progress import Progress, SilentProgress
from rag.records import SearchOptions, TimeWindow

K = 5
VARIANTS: dict[str, SearchOptions] = {
    "window, words dropped": SearchOptions(),
    "window, words kept": SearchOptions(strip_time_words=False),
    "no time resolution": SearchOptions(resolve_time=False),
    "no recency preference": SearchOptions(prefer_recent=False),
}


@dataclass(frozen=True)
class NewsQuestion:
    question: str
    gold_urls: tuple[str, ...]
    as_of: date | None
    lang: str


@dataclass(frozen=True)
class NewsMetrics:
    """Article-level figures for one variant (values in 0..1)."""

    r1: float
    r5: float
    mrr10: float
    timed_r5: float
    window_precision: float

    def as_dict(self) -> dict[str, float]:
        return {
            "R@1": round(self.r1, 4),
            "R@5": round(self.r5, 4),
            "MRR@10": round(self.mrr10, 4),
            "timed R@5": round(self.timed_r5, 4),
            "window precision": round(self.window_precision, 4),
        }


@dataclass(frozen=True)
class NewsEvalReport:
    qa_file: str
    questions: int
    timed: int
    articles: int
    variants: dict[str, NewsMetrics]

    def as_dict(self) -> dict[str, object]:
        return {
            "qa_file": self.qa_file,
            "questions": self.questions,
            "timed_questions": self.timed,
            "articles": self.articles,
            "variants": {name: m.as_dict() for name, m in self.variants.items()},
        }


def load_news_questions(path: Path) -> list[NewsQuestion]:
    """The questions of a JSON-lines file: question, gold_urls, as_of (or null), lang."""
    return read_records(path, _news_question, "news question", "questions")


def _news_question(number: int, data: dict[str, Any]) -> NewsQuestion:
    as_of = date.fromisoformat(data["as_of"]) if data.get("as_of") else None
    urls = tuple(str(u) for u in data["gold_urls"])
    if not str(data["question"]).strip() or not urls:
        raise ValueError(f"line {number}: a question and gold_urls are required")
    return NewsQuestion(str(data["question"]), urls, as_of, data.get("lang", "zh"))


def evaluate_news(
    qa_file: Path,
    settings: Settings,
    *,
    articles: Sequence[str],
    progress: Progress | None = None,
) -> NewsEvalReport:
    """Index ``articles`` and measure every variant on the questions of ``qa_file``."""
    progress = progress or SilentProgress()
    questions = load_news_questions(qa_file)
    if not articles:
        raise RagError("a news question set needs the articles it asks about (--articles PATH)")
    with Archive(settings) as archive:
        report = archive.build(list(articles), progress=progress)
        progress.start("asking questions", len(questions) * len(VARIANTS))
        variants = {}
        for name, base in VARIANTS.items():
            variants[name] = _measure(archive, questions, base, progress)
    return NewsEvalReport(
        qa_file=str(qa_file),
        questions=len(questions),
        timed=sum(1 for q in questions if q.as_of is not None),
        articles=report.articles,
        variants=variants,
    )


def _measure(
    archive: Archive, questions: Sequence[NewsQuestion], base: SearchOptions, progress: Progress
) -> NewsMetrics:
    r1 = r5 = mrr = 0.0
    timed_hits = timed = 0
    inside = returned = 0
    for q in questions:
        options = replace(base, k=10, per_article=1, min_score=0.0, as_of=q.as_of)
        hits = archive.search(q.question, options).hits
        gold = set(q.gold_urls)
        first = next((i for i, h in enumerate(hits) if gold & set(h.article.urls)), None)
        r1 += first == 0
        r5 += first is not None and first < K
        mrr += 1.0 / (first + 1) if first is not None else 0.0
        window = archive.understand(
            q.question, SearchOptions(as_of=q.as_of or date.today())
        ).time_window
        if q.as_of is not None and window is not None:
            timed += 1
            timed_hits += first is not None and first < K
            for hit in hits[:K]:
                returned += 1
                inside += _inside(hit.article.published, window)
        progress.advance()
    n = max(len(questions), 1)
    return NewsMetrics(
        r1=r1 / n,
        r5=r5 / n,
        mrr10=mrr / n,
        timed_r5=timed_hits / max(timed, 1),
        window_precision=inside / max(returned, 1),
    )


def _inside(published: object, window: TimeWindow) -> bool:
    from datetime import datetime

    if not isinstance(published, datetime):
        return False
    return window.start <= published.date() <= window.end


def format_news_table(report: NewsEvalReport) -> str:
    cols = ["R@1", "R@5", "MRR@10", "timed R@5", "window precision"]
    lines = [
        f"{report.qa_file}: {report.questions} questions ({report.timed} with time words), "
        f"{report.articles} articles; article level, hybrid",
        f"{'variant':<24} " + " ".join(f"{c:>16}" for c in cols),
    ]
    for name, metrics in report.variants.items():
        values = metrics.as_dict()
        lines.append(f"{name:<24} " + " ".join(f"{values[c]:>16.3f}" for c in cols))
    return "\n".join(lines)
