"""Follow-up questions measured on conversations written for them
(``tests/data/conversations.jsonl``).

Each line is one conversation of two or three turns; every turn names its gold article
URLs, every later turn says whether it starts a new topic and gives ``full``, the same
question written out in full by a person. The later turns are searched, at article level
through ``Archive.search`` as users call it, in up to four ways: asked alone (the
baseline), completed by the rules (``Archive.follow_up``), rewritten by the LLM (with
``llm``), and as written out in full (the target). Follow-up R@1/R@5 counts the turns that
continue a topic; the new-topic turns report how many the rules kept apart.
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
from rag.records import SearchOptions, Turn

K = 5
ALONE, RULES, LLM, FULL = (
    "asked alone",
    "completed by rules",
    "completed by the LLM",
    "written in full",
)


@dataclass(frozen=True)
class ConversationTurn:
    question: str
    gold_urls: tuple[str, ...]
    full: str  # the question written out in full (the question itself for the first turn)
    new_topic: bool


@dataclass(frozen=True)
class Conversation:
    id: str
    lang: str
    turns: tuple[ConversationTurn, ...]
    as_of: date | None  # the day the conversation is held (time words count from it)


@dataclass(frozen=True)
class FollowUpMetrics:
    """One way of searching the later turns (values in 0..1)."""

    r1: float
    r5: float
    new_topic_r5: float
    # the share of new-topic turns searched on their own, not merged with the topic before
    new_topics_kept: float

    def as_dict(self) -> dict[str, float]:
        return {
            "R@1": round(self.r1, 4),
            "R@5": round(self.r5, 4),
            "new-topic R@5": round(self.new_topic_r5, 4),
            "new topics kept apart": round(self.new_topics_kept, 4),
        }


@dataclass(frozen=True)
class ConversationEvalReport:
    qa_file: str
    conversations: int
    follow_ups: int
    new_topics: int
    articles: int
    variants: dict[str, FollowUpMetrics]
    # what the rules searched for each follow-up: (conversation id, question, searched)
    completions: tuple[tuple[str, str, str], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "qa_file": self.qa_file,
            "conversations": self.conversations,
            "follow_ups": self.follow_ups,
            "new_topics": self.new_topics,
            "articles": self.articles,
            "variants": {name: m.as_dict() for name, m in self.variants.items()},
        }


def is_conversation_file(path: Path) -> bool:
    """True when the first line of a JSON-lines file is a conversation (has ``turns``)."""
    try:
        with path.open(encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "")
        return isinstance(json.loads(first), dict) and "turns" in json.loads(first)
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of a JSON-lines file (see the module's docstring)."""
    return read_records(path, _conversation, "conversation", "conversations")


def _conversation(number: int, data: dict[str, Any]) -> Conversation:
    turns = tuple(
        ConversationTurn(
            question=str(t["question"]),
            gold_urls=tuple(str(u) for u in t["gold_urls"]),
            full=str(t.get("full") or t["question"]),
            new_topic=bool(t.get("new_topic", i == 0)),
        )
        for i, t in enumerate(data["turns"])
    )
    if len(turns) < 2 or any(not t.question.strip() or not t.gold_urls for t in turns):
        raise ValueError(f"line {number}: two turns or more, each with gold_urls")
    as_of = data["turns"][0].get("as_of")
    return Conversation(
        str(data["id"]),
        str(data.get("lang", "zh")),
        turns,
        date.fromisoformat(as_of) if as_of else None,
    )


def evaluate_conversations(
    qa_file: Path,
    settings: Settings,
    *,
    articles: Sequence[str],
    llm: bool = False,
    progress: Progress | None = None,
) -> ConversationEvalReport:
    """Index ``articles`` and search the later turns of every conversation each way."""
    progress = progress or SilentProgress()
    conversations = load_conversations(qa_file)
    if not articles:
        raise RagError("a conversation set needs the articles it asks about (--articles PATH)")
    ways = [ALONE, RULES] + ([LLM] if llm else []) + [FULL]
    later = [t for c in conversations for t in c.turns[1:]]
    with Archive(settings) as archive:
        report = archive.build(list(articles), progress=progress)
        progress.start("asking conversations", len(conversations) * len(ways))
        variants: dict[str, FollowUpMetrics] = {}
        completions: list[tuple[str, str, str]] = []
        for way in ways:
            ranks: list[Searched] = []
            for conversation in conversations:
                found = _converse(archive, conversation, way)
                ranks.extend(found)
                if way == RULES:
                    completions.extend((conversation.id, s.turn.question, s.text) for s in found)
                progress.advance()
            variants[way] = _metrics(ranks)
    return ConversationEvalReport(
        qa_file=str(qa_file),
        conversations=len(conversations),
        follow_ups=sum(1 for t in later if not t.new_topic),
        new_topics=sum(1 for t in later if t.new_topic),
        articles=report.articles,
        variants=variants,
        completions=tuple(completions),
    )


@dataclass(frozen=True)
class Searched:
    """A later turn as one way searched it."""

    turn: ConversationTurn
    rank: int | None  # of its first gold article (None: not in the first ten)
    kept: bool  # searched on its own, not completed from the turns before
    text: str  # what was searched


def _converse(archive: Archive, conversation: Conversation, way: str) -> list[Searched]:
    base = SearchOptions(k=10, per_article=1, min_score=0.0, as_of=conversation.as_of)
    turns: list[Turn] = []
    out = []
    for number, turn in enumerate(conversation.turns):
        if number == 0 or way in (ALONE, FULL):
            text = turn.full if way == FULL else turn.question
            followup = archive.follow_up(text, [], base)
            kept = True
        else:
            followup = archive.follow_up(turn.question, turns, base, llm=way == LLM)
            kept = followup.new_topic
        options = followup.search_options(base)
        result = archive.search(followup.text, options)
        turns.append(followup.turn(result, options))
        if number == 0:
            continue
        gold = set(turn.gold_urls)
        first = next((i for i, h in enumerate(result.hits) if gold & set(h.article.urls)), None)
        out.append(Searched(turn, first, kept, followup.text))
    return out


def _metrics(searched: Sequence[Searched]) -> FollowUpMetrics:
    follow = [(s.rank, s.kept) for s in searched if not s.turn.new_topic]
    fresh = [(s.rank, s.kept) for s in searched if s.turn.new_topic]
    n, m = max(len(follow), 1), max(len(fresh), 1)
    return FollowUpMetrics(
        r1=sum(1 for rank, _ in follow if rank == 0) / n,
        r5=sum(1 for rank, _ in follow if rank is not None and rank < K) / n,
        new_topic_r5=sum(1 for rank, _ in fresh if rank is not None and rank < K) / m,
        new_topics_kept=sum(1 for _, kept in fresh if kept) / m,
    )


def format_conversation_table(report: ConversationEvalReport) -> str:
    cols = ["R@1", "R@5", "new-topic R@5", "new topics kept apart"]
    lines = [
        f"{report.qa_file}: {report.conversations} conversations, {report.follow_ups} "
        f"follow-ups, {report.new_topics} new topics, {report.articles} articles; "
        "article level, hybrid",
        f"{'follow-ups':<22} " + " ".join(f"{c:>22}" for c in cols),
    ]
    for name, metrics in report.variants.items():
        values = metrics.as_dict()
        lines.append(f"{name:<22} " + " ".join(f"{values[c]:>22.3f}" for c in cols))
    return "\n".join(lines)
