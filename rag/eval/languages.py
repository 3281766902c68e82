"""Quality per language on news question sets written for it: Simplified, Traditional
and English questions about the same articles (``tests/data/news_questions*.jsonl``,
``names_questions.jsonl``, ``news_unanswerable.jsonl``; ``tests/data/QUESTIONS.md``).

For each set and language: the gold article found (article level, hybrid, R@1 / R@5 /
MRR@10, the no-answer check off so every question gets its ten hits), the extractive
answer of ``Archive.ask`` with the default options holding every gold answer string
(questions that list ``answers``), and the no-answer decision of that same call:
answerable questions answered, unanswerable ones (no ``gold_urls``) refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rag.archive import Archive
from rag.config import Settings
from rag.errors import RagError
from rag.eval.jsonl import read_records
from rag.progress import Progress, SilentProgress
from rag.records import SearchOptions

K = 5


@dataclass(frozen=True)
class LabelledQuestion:
    """A question with its gold articles (none: the archive cannot answer it), its
    language as written ("zh", "zh-Hant", "en") and the strings an answer must hold."""

    question: str
    gold_urls: tuple[str, ...]
    lang: str
    answers: tuple[str, ...] = ()
    as_of: date | None = None


@dataclass(frozen=True)
class LanguageFigures:
    """One set's figures for one language (shares in 0..1; None: nothing to measure)."""

    answerable: int
    unanswerable: int
    r1: float | None
    r5: float | None
    mrr10: float | None
    answer_contains_gold: float | None
    answered: float | None  # answerable questions the no-answer check let through
    refused: float | None  # unanswerable questions it refused

    def as_dict(self) -> dict[str, float | int]:
        values = {
            "R@1": self.r1,
            "R@5": self.r5,
            "MRR@10": self.mrr10,
            "answer contains gold": self.answer_contains_gold,
            "answered": self.answered,
            "refused": self.refused,
        }
        return {
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            **{name: round(v, 4) for name, v in values.items() if v is not None},
        }


@dataclass(frozen=True)
class LanguageReport:
    articles: int
    # "<set> <lang>" (the file's stem and the questions' language) -> figures
    rows: dict[str, LanguageFigures]

    def as_dict(self) -> dict[str, object]:
        return {
            "articles": self.articles,
            "by_language": {name: figures.as_dict() for name, figures in self.rows.items()},
        }


def is_labelled_file(path: Path) -> bool:
    """True when a JSON-lines question file has answer strings or unanswerable questions
    (``"gold_urls": []``), which the per-language evaluation measures."""
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    data = json.loads(line)
                    return isinstance(data, dict) and (
                        "answers" in data or data.get("gold_urls") == []
                    )
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return False


def load_labelled(path: Path) -> list[LabelledQuestion]:
    """The questions of a JSON-lines file: question, gold_urls (may be empty), as_of,
    lang, answers (optional)."""
    return read_records(path, _labelled, "question", "questions")


def _labelled(number: int, data: dict[str, Any]) -> LabelledQuestion:
    if not str(data["question"]).strip():
        raise ValueError(f"line {number}: the question is empty")
    return LabelledQuestion(
        question=str(data["question"]),
        gold_urls=tuple(str(u) for u in data.get("gold_urls") or ()),
        lang=str(data.get("lang", "zh")),
        answers=tuple(str(a) for a in data.get("answers") or ()),
        as_of=date.fromisoformat(data["as_of"]) if data.get("as_of") else None,
    )


def evaluate_languages(
    qa_files: Sequence[Path],
    settings: Settings,
    *,
    articles: Sequence[str],
    progress: Progress | None = None,
) -> LanguageReport:
    """Index ``articles`` and measure every set of ``qa_files``, one row per language."""
    progress = progress or SilentProgress()
    sets = {Path(path).stem: load_labelled(Path(path)) for path in qa_files}
    if not articles:
        raise RagError("a news question set needs the articles it asks about (--articles PATH)")
    with Archive(settings) as archive:
        built = archive.build(list(articles), progress=progress)
        progress.start("asking questions", sum(len(q) for q in sets.values()))
        rows = {}
        for name, questions in sets.items():
            for lang in dict.fromkeys(q.lang for q in questions):
                mine = [q for q in questions if q.lang == lang]
                rows[f"{name} {lang}"] = _measure(archive, mine, progress)
    return LanguageReport(articles=built.articles, rows=rows)


def _measure(
    archive: Archive, questions: Sequence[LabelledQuestion], progress: Progress
) -> LanguageFigures:
    firsts: list[int | None] = []
    contains: list[bool] = []
    answered: list[bool] = []
    refused: list[bool] = []
    for q in questions:
        asked = archive.ask(q.question, SearchOptions(as_of=q.as_of))
        if not q.gold_urls:
            refused.append(asked.result.no_answer)
            progress.advance()
            continue
        answered.append(not asked.result.no_answer)
        if q.answers:
            contains.append(all(a in asked.answer.text for a in q.answers))
        options = SearchOptions(k=10, per_article=1, min_score=0.0, as_of=q.as_of)
        hits = archive.search(q.question, options).hits
        gold = set(q.gold_urls)
        firsts.append(next((i for i, h in enumerate(hits) if gold & set(h.article.urls)), None))
        progress.advance()
    n = len(firsts)
    return LanguageFigures(
        answerable=n,
        unanswerable=len(refused),
        r1=sum(f == 0 for f in firsts) / n if n else None,
        r5=sum(f is not None and f < K for f in firsts) / n if n else None,
        mrr10=sum(1 / (f + 1) for f in firsts if f is not None) / n if n else None,
        answer_contains_gold=sum(contains) / len(contains) if contains else None,
        answered=sum(answered) / n if n else None,
        refused=sum(refused) / len(refused) if refused else None,
    )


def format_language_table(report: LanguageReport) -> str:
    """The report as a plain-text table, a row per set and language."""
    cols = ["R@1", "R@5", "MRR@10", "answer contains gold", "answered", "refused"]
    lines = [
        f"{report.articles} articles; article level, hybrid; answers and the no-answer "
        "decision as `rag ask` gives them",
        f"{'set, language':<30} {'n':>4} "
        + " ".join(f"{c:>8}" for c in ("R@1", "R@5", "MRR@10"))
        + f" {'ans.gold':>8} {'answered':>8} {'refused':>8}",
    ]
    for name, figures in report.rows.items():
        values = figures.as_dict()
        cells = " ".join(f"{values[c]:>8.3f}" if c in values else f"{'-':>8}" for c in cols)
        count = figures.answerable + figures.unanswerable
        lines.append(f"{name:<30} {count:>4} {cells}")
    return "\n".join(lines)
