"""Answer quality on a SQuAD-layout QA file: does the extractive answer hold the gold answer?

Each question is asked through ``Archive.ask`` (default mode, five passages, the no-answer
check off so every question gets an answer). Counted: the answer contains a gold answer,
its first sentence does, its highlighted phrase overlaps one, the top passage does (the
ceiling retrieval sets), and the answer's length in characters (citation markers left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.archive import Archive
from rag.progress import Progress, SilentProgress
from rag.records import Answer, SearchOptions

ANSWER_PASSAGES = 5


@dataclass(frozen=True)
class AnswerMetrics:
    """Shares of questions (0..1) and the mean answer length in characters."""

    questions: int
    answer_contains_gold: float
    first_sentence_contains_gold: float
    phrase_overlaps_gold: float
    top_passage_contains_gold: float
    mean_chars: float
    mean_sentences: float

    def as_dict(self) -> dict[str, float]:
        return {
            "answer contains gold": round(self.answer_contains_gold, 4),
            "first sentence contains gold": round(self.first_sentence_contains_gold, 4),
            "phrase overlaps gold": round(self.phrase_overlaps_gold, 4),
            "top passage contains gold": round(self.top_passage_contains_gold, 4),
            "answer chars": round(self.mean_chars, 1),
            "answer sentences": round(self.mean_sentences, 2),
        }


def answer_text(answer: Answer) -> str:
    """The quoted sentences without their ``[n]`` markers."""
    return "".join(s.text for s in answer.sentences)


def _overlaps(phrase: str, answers: Sequence[str]) -> bool:
    """The phrase and a gold answer share a span: one contains the other."""
    return bool(phrase) and any(phrase in a or a in phrase for a in answers)


def measure_answers(
    archive: Archive,
    questions: Sequence[tuple[str, Sequence[str]]],
    progress: Progress | None = None,
) -> AnswerMetrics:
    """Ask every (question, gold answers) and score its extractive answer against them."""
    progress = progress or SilentProgress()
    options = SearchOptions(k=ANSWER_PASSAGES, min_score=0.0)
    contains = first = phrase = top = chars = sentences = 0.0
    progress.start("answering questions", len(questions))
    for question, gold in questions:
        asked = archive.ask(question, options)
        answer, hits = asked.answer, asked.result.hits
        text = answer_text(answer)
        contains += any(a in text for a in gold)
        if answer.sentences:
            head = answer.sentences[0]
            first += any(a in head.text for a in gold)
            if head.highlight is not None:
                phrase += _overlaps(head.text[head.highlight[0] : head.highlight[1]], gold)
        top += bool(hits) and any(a in hits[0].chunk.text for a in gold)
        chars += len(text)
        sentences += len(answer.sentences)
        progress.advance()
    n = max(len(questions), 1)
    return AnswerMetrics(
        len(questions), contains / n, first / n, phrase / n, top / n, chars / n, sentences / n
    )


def format_answer_table(metrics: AnswerMetrics) -> str:
    """The metrics as two plain-text lines."""
    values = metrics.as_dict()
    return "answers:  " + ", ".join(
        f"{name} {value:.3f}" if isinstance(value, float) and value <= 1 else f"{name} {value}"
        for name, value in values.items()
    )
