"""The conversation set (tests/data/conversations.jsonl) and its measurement's plumbing:
the file itself, the rules on every turn of it, rag eval's shape with test-hash. The recall
floors with e5 are in tests/integration/test_conversations.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.news import NEWS
from support.sample import DATA, SAMPLE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import Settings
from rag.errors import RagError
from rag.eval.conversations import is_conversation_file, load_conversations
from rag.records import Turn

CONVERSATIONS = DATA / "conversations.jsonl"


def test_the_set_has_forty_conversations_in_three_scripts_with_new_topic_pairs() -> None:
    conversations = load_conversations(CONVERSATIONS)
    assert len(conversations) >= 40
    assert {c.lang for c in conversations} == {"zh", "en"}
    traditional = [
        c for c in conversations if any("們" in t.question or "麼" in t.question for t in c.turns)
    ]
    assert len(traditional) >= 3
    assert any(len(c.turns) == 3 for c in conversations)
    assert sum(t.new_topic for c in conversations for t in c.turns[1:]) >= 6
    for conversation in conversations:
        for turn in conversation.turns[1:]:
            assert turn.full.strip() and turn.gold_urls


def test_the_rules_never_merge_a_new_topic_and_complete_most_follow_ups(
    hash_archive: Archive,
) -> None:
    """Every turn labelled a new topic is searched as asked; follow-ups are completed
    unless they name their own subject (a few are written that way on purpose)."""
    completed = follow_ups = 0
    for conversation in load_conversations(CONVERSATIONS):
        turns: list[Turn] = []
        for number, turn in enumerate(conversation.turns):
            followup = hash_archive.follow_up(turn.question, turns)
            if number and turn.new_topic:
                assert followup.new_topic and followup.text == turn.question, conversation.id
            elif number:
                follow_ups += 1
                completed += followup.completed
            turns.append(
                Turn(
                    turn.question, followup.text, as_of=followup.as_of, new_topic=followup.new_topic
                )
            )
    assert completed / follow_ups >= 0.75  # 47 of 59 when written


def test_a_conversation_file_is_told_from_a_news_question_file(tmp_path: Path) -> None:
    assert is_conversation_file(CONVERSATIONS)
    assert not is_conversation_file(DATA / "news_questions.jsonl")
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"id": "x", "turns": [{"question": "q", "gold_urls": ["u"]}]}))
    with pytest.raises(RagError, match="two turns or more"):
        load_conversations(broken)


def test_rag_eval_reports_follow_ups_each_way_plumbing(tmp_path: Path) -> None:
    """With test-hash the figures mean nothing; the shape, ways and counts do."""
    subset = tmp_path / "talks.jsonl"
    lines = CONVERSATIONS.read_text(encoding="utf-8").splitlines()
    subset.write_text("\n".join(lines[:4] + lines[-2:]) + "\n", encoding="utf-8")
    command = ["eval", str(subset), "--articles", str(SAMPLE), "--articles", str(NEWS)]
    command += ["--index", str(tmp_path / "index")]
    result = CliRunner().invoke(app, [*command, "--json"], env={"RAG_EMBEDDER": "test-hash"})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["conversations"] == 6 and report["articles"] == 46
    later = [t for c in load_conversations(subset) for t in c.turns[1:]]
    assert (report["follow_ups"], report["new_topics"]) == (
        sum(not t.new_topic for t in later),
        sum(t.new_topic for t in later),
    )
    assert list(report["variants"]) == ["asked alone", "completed by rules", "written in full"]
    assert report["variants"]["completed by rules"]["new topics kept apart"] == 1.0
    text = CliRunner().invoke(app, command, env={"RAG_EMBEDDER": "test-hash"})
    assert text.exit_code == 0 and "completed by rules" in text.stdout
    with Archive(Settings(index_dir=tmp_path / "index", embedder="test-hash")) as archive:
        articles = {chunk.article_id for chunk in archive.passages()}
        indexed = {url for article_id in articles for url in _urls(archive, article_id)}
    gold = {u for c in load_conversations(CONVERSATIONS) for t in c.turns for u in t.gold_urls}
    assert gold <= indexed  # every gold URL is an article of the set's corpus


def _urls(archive: Archive, article_id: str) -> tuple[str, ...]:
    detail = archive.article(article_id)
    assert detail is not None
    return detail.article.urls


def test_rag_eval_llm_measures_a_fourth_way_and_falls_back_to_the_rules_plumbing(
    tmp_path: Path,
) -> None:
    """No LLM answers at that address: every rewrite fails, so the LLM's way searches
    what the rules completed (the figures of both ways are then the same)."""
    subset = tmp_path / "talks.jsonl"
    subset.write_text(CONVERSATIONS.read_text(encoding="utf-8").splitlines()[3] + "\n")
    result = CliRunner().invoke(
        app,
        [
            "eval",
            str(subset),
            "--articles",
            str(SAMPLE),
            "--index",
            str(tmp_path / "index"),
            "--json",
            "--llm",
        ],
        env={"RAG_EMBEDDER": "test-hash", "RAG_LLM_BASE_URL": "http://127.0.0.1:9/v1"},
    )
    assert result.exit_code == 0, result.output
    variants = json.loads(result.stdout)["variants"]
    assert list(variants) == [
        "asked alone",
        "completed by rules",
        "completed by the LLM",
        "written in full",
    ]
    assert variants["completed by the LLM"] == variants["completed by rules"]
