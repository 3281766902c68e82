"""Retrieval quality on a SQuAD-layout QA file: recall@k, MRR@10 and nDCG@10 per mode.

The paragraphs are written out as front-matter Markdown articles and indexed through
``Archive.build`` (optionally beside a distractor corpus), then every
question is asked. Article level: a hit counts when it comes from the question's own
paragraph. Passage level: a hit counts when its text contains a gold answer.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.archive import Archive
from rag.config import MODES, Settings
from rag.errors import RagError
from rag.eval.answers import AnswerMetrics, format_answer_table, measure_answers
from rag.progress import Progress, SilentProgress
from rag.records import BuildReport, SearchOptions

KS = (1, 5, 10)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[str, ...]
    paragraph_id: str


@dataclass(frozen=True)
class Metrics:
    """Ranking quality over a set of questions (values in 0..1)."""

    recall: dict[int, float]
    mrr10: float
    ndcg10: float

    def as_dict(self) -> dict[str, float]:
        out = {f"R@{k}": round(v, 4) for k, v in self.recall.items()}
        out["MRR@10"] = round(self.mrr10, 4)
        out["nDCG@10"] = round(self.ndcg10, 4)
        return out


@dataclass(frozen=True)
class EvalReport:
    qa_file: str
    questions: int
    articles: int
    passages: int
    distractors: str | None
    article_level: dict[str, Metrics]
    passage_level: dict[str, Metrics]
    latency_ms: dict[str, float]
    unreachable: int
    extra: dict[str, object] = field(default_factory=dict)
    answers: AnswerMetrics | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "qa_file": self.qa_file,
            "questions": self.questions,
            "articles": self.articles,
            "passages": self.passages,
            "distractors": self.distractors,
            "unreachable_answers": self.unreachable,
            "article_level": {m: v.as_dict() for m, v in self.article_level.items()},
            "passage_level": {m: v.as_dict() for m, v in self.passage_level.items()},
            "latency_ms": {m: round(v, 2) for m, v in self.latency_ms.items()},
            "answers": self.answers.as_dict() if self.answers else None,
            **self.extra,
        }


def load_squad(path: Path) -> tuple[list[tuple[str, str, str]], list[Question]]:
    """(paragraphs as (id, title, context), questions) from a SQuAD-layout JSON file.

    Questions without an answer or with blank text are left out.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        paragraphs: list[tuple[str, str, str]] = []
        questions: list[Question] = []
        for item in data["data"]:
            for para in item["paragraphs"]:
                pid = str(para.get("id") or f"p{len(paragraphs)}")
                paragraphs.append((pid, str(item.get("title", "")), para["context"]))
                for qa in para["qas"]:
                    answers = tuple(
                        dict.fromkeys(a["text"] for a in qa.get("answers", ()) if a["text"])
                    )
                    # a blank question (CMRC 2018 trial has two) cannot be asked
                    if answers and str(qa["question"]).strip():
                        questions.append(Question(str(qa["id"]), qa["question"], answers, pid))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise RagError(f"{path} is not a readable SQuAD-layout QA file ({exc})") from None
    if not questions:
        raise RagError(f"{path} holds no questions with answers")
    return paragraphs, questions


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings are valid YAML scalars


def write_paragraph_articles(paragraphs: Sequence[tuple[str, str, str]], directory: Path) -> None:
    """One front-matter Markdown article per paragraph (url ``squad://<id>``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for pid, title, context in paragraphs:
        target = directory / f"{pid}.md"
        text = (
            f"---\ntitle: {_yaml_str(title or pid)}\nurl: {_yaml_str('squad://' + pid)}\n---\n\n"
            f"{context}\n"
        )
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def _metrics(ranked_relevance: Sequence[Sequence[bool]], n_relevant: Sequence[int]) -> Metrics:
    recall = {k: 0.0 for k in KS}
    mrr = ndcg = 0.0
    for rels, total in zip(ranked_relevance, n_relevant, strict=True):
        first = next((i for i, r in enumerate(rels[:10]) if r), None)
        for k in KS:
            recall[k] += 1.0 if first is not None and first < k else 0.0
        if first is not None:
            mrr += 1.0 / (first + 1)
        dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(rels[:10]) if r)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(max(total, 1), 10)))
        ndcg += dcg / ideal
    n = max(len(ranked_relevance), 1)
    return Metrics({k: v / n for k, v in recall.items()}, mrr / n, ndcg / n)


def evaluate(
    qa_file: Path,
    settings: Settings,
    *,
    distractors: Sequence[str] = (),
    modes: Sequence[str] = MODES,
    limit: int | None = None,
    progress: Progress | None = None,
    answers: bool = True,
) -> EvalReport:
    """Index ``qa_file``'s paragraphs (plus ``distractors``) and measure every mode.

    Questions go through ``Archive.search`` exactly as users call it (filters, per-article
    cap, widening), with the no-answer threshold off so every question gets ten hits.
    With ``answers`` the extractive answers are measured too (``rag.eval.answers``).
    """
    progress = progress or SilentProgress()
    paragraphs, questions = load_squad(qa_file)
    if limit:
        questions = questions[:limit]
    work = Path(settings.index_dir)
    corpus_dir = work / "paragraphs"
    write_paragraph_articles(paragraphs, corpus_dir)
    with Archive(settings) as archive:
        report = archive.build([str(corpus_dir), *distractors], progress=progress)
        measured = run_questions(qa_file, archive, report, questions, modes, distractors, progress)
        if not answers:
            return measured
        pairs = [(q.text, q.answers) for q in questions]
        return replace(measured, answers=measure_answers(archive, pairs, progress))


def run_questions(
    qa_file: Path,
    archive: Archive,
    report: BuildReport,
    questions: Sequence[Question],
    modes: Sequence[str],
    distractors: Sequence[str],
    progress: Progress,
) -> EvalReport:
    """``evaluate``'s figures for ``questions`` asked of an archive already built."""
    texts = [chunk.text for chunk in archive.passages()]
    article_rels: dict[str, list[list[bool]]] = {m: [] for m in modes}
    passage_rels: dict[str, list[list[bool]]] = {m: [] for m in modes}
    n_passage_relevant: list[int] = []
    seconds: dict[str, float] = {m: 0.0 for m in modes}
    unreachable = 0
    progress.start("asking questions", len(questions))
    for q in questions:
        gold_url = f"squad://{q.paragraph_id}"
        relevant = sum(1 for t in texts if any(a in t for a in q.answers))
        n_passage_relevant.append(relevant)
        unreachable += relevant == 0
        for mode in modes:
            started = time.perf_counter()
            by_passage = archive.search(q.text, _options(mode, per_article=2)).hits
            seconds[mode] += time.perf_counter() - started
            by_article = archive.search(q.text, _options(mode, per_article=1)).hits
            passage_rels[mode].append(
                [any(a in h.chunk.text for a in q.answers) for h in by_passage]
            )
            article_rels[mode].append([gold_url in h.article.urls for h in by_article])
        progress.advance()
    return EvalReport(
        qa_file=str(qa_file),
        questions=len(questions),
        articles=report.articles,
        passages=report.passages,
        distractors=", ".join(distractors) or None,
        article_level={m: _metrics(article_rels[m], [1] * len(questions)) for m in modes},
        passage_level={m: _metrics(passage_rels[m], n_passage_relevant) for m in modes},
        latency_ms={m: 1000 * seconds[m] / max(len(questions), 1) for m in modes},
        unreachable=unreachable,
    )


def _options(mode: str, per_article: int) -> SearchOptions:
    return SearchOptions(k=10, mode=mode, per_article=per_article, min_score=0.0)


def format_table(report: EvalReport) -> str:
    """The report as a plain-text table (both levels, every mode)."""
    cols = ["R@1", "R@5", "R@10", "MRR@10", "nDCG@10"]
    lines = [
        f"{report.qa_file}: {report.questions} questions, {report.articles} articles, "
        f"{report.passages} passages"
        + (f", distractors: {report.distractors}" if report.distractors else ""),
        f"{'level':<9} {'mode':<8} " + " ".join(f"{c:>7}" for c in cols) + f" {'ms/q':>6}",
    ]
    for level, table in (("article", report.article_level), ("passage", report.passage_level)):
        for mode, metrics in table.items():
            values = metrics.as_dict()
            lines.append(
                f"{level:<9} {mode:<8} "
                + " ".join(f"{values[c]:>7.3f}" for c in cols)
                + f" {report.latency_ms[mode]:>6.1f}"
            )
    if report.unreachable:
        lines.append(f"({report.unreachable} questions have no passage containing their answer)")
    if report.answers is not None:
        lines.append(format_answer_table(report.answers))
    return "\n".join(lines)
