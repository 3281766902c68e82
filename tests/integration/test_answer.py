"""Extractive answers on the real sample index: the sentences e5 picks and how the CLI
shows them (citation checks and prompt rendering are in unit/test_answer.py)."""

from __future__ import annotations

import json

from support.ask_json import (
    check_ask_json_shape,
    check_citations_name_their_hits,
    check_no_answer_flags,
)
from support.sample import QUESTION, STOCKTAKE
from typer.testing import CliRunner

from rag.answer.compose import extractive_answer
from rag.cli import app
from rag.records import SearchOptions

runner = CliRunner()
ENGLISH = "What did China and the US promise at COP28?"


def assert_quotes_its_citations(answer, hits) -> None:
    """Every sentence is verbatim text of the passage its [n] points at."""
    by_rank = {hit.rank: hit for hit in hits}
    for sentence in answer.sentences:
        assert sentence.citations, sentence
        for number in sentence.citations:
            assert sentence.text in by_rank[number].chunk.text
        assert f"{sentence.text}{''.join(f'[{n}]' for n in sentence.citations)}" in answer.text


def test_extractive_answer_quotes_the_stocktake_sentence_with_its_citation(sample_archive):
    result = sample_archive.search(QUESTION, SearchOptions(k=5))
    answer = extractive_answer(result, sample_archive.embedder)
    assert answer.mode == "extractive" and answer.found
    assert 1 <= len(answer.sentences) <= 3
    (stocktake,) = [s for s in answer.sentences if STOCKTAKE in s.text]
    (number,) = stocktake.citations
    assert stocktake.text in result.hits[number - 1].chunk.text
    assert f"[{number}]" in answer.text
    assert_quotes_its_citations(answer, result.hits)
    cited_numbers = {n for s in answer.sentences for n in s.citations}
    assert {c.number for c in answer.citations} == cited_numbers


def test_archive_ask_gives_the_search_result_and_its_extractive_answer(sample_archive):
    asked = sample_archive.ask(QUESTION, SearchOptions(k=5))
    assert asked.result.hits == sample_archive.search(QUESTION, SearchOptions(k=5)).hits
    answer = asked.answer
    assert answer.mode == "extractive" and answer.found and answer.llm_error is None
    assert answer == extractive_answer(asked.result, sample_archive.embedder)
    assert any(STOCKTAKE in s.text for s in answer.sentences)
    assert_quotes_its_citations(answer, asked.result.hits)


def test_extractive_answer_to_an_english_question_over_chinese_passages(sample_archive):
    result = sample_archive.search(ENGLISH, SearchOptions(k=5))
    answer = extractive_answer(result, sample_archive.embedder)
    assert answer.found and 1 <= len(answer.sentences) <= 3
    assert_quotes_its_citations(answer, result.hits)
    # The embedder, not word overlap, picks them: all on COP28 / the US-China pledge.
    assert any("COP28" in s.text or "承诺" in s.text for s in answer.sentences)


def test_extractive_answer_has_no_repeated_sentence(sample_archive):
    # Passages 1 and 2 of this question overlap: their shared sentence appears once.
    result = sample_archive.search(QUESTION, SearchOptions(k=5))
    answer = extractive_answer(result, sample_archive.embedder, max_sentences=6)
    texts = [s.text for s in answer.sentences]
    assert len(texts) == len(set(texts))


def test_cli_prints_the_answer_before_the_passages(sample_index):
    settings, _ = sample_index
    result = runner.invoke(app, ["ask", QUESTION, "--index", str(settings.index_dir)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Answer (quoted from the passages below):")
    assert out.index(STOCKTAKE) < out.index("Passages:") < out.index("\n[1] ")


def test_cli_json_answer_and_passages_only(sample_index):
    settings, _ = sample_index
    base = ["ask", QUESTION, "--index", str(settings.index_dir), "--json"]
    data = json.loads(runner.invoke(app, base).stdout)
    check_ask_json_shape(data)
    answer = data["answer"]
    assert answer["mode"] == "extractive" and STOCKTAKE in answer["text"]
    check_citations_name_their_hits(data)
    check_no_answer_flags(base)
