"""The retrieval-quality gate on CMRC 2018 and the news question set (both bundled in
tests/data): floors pinned in quality/floors.json. The larger gate with the news-oped2
distractors runs in `make eval`."""

from __future__ import annotations

import pytest
from support.eval_gate import eval_gate


@pytest.mark.slow
def test_cmrc_recall_stays_above_the_floors(tmp_path, embedding_cache):
    """Retrieval and extractive answers, Chinese questions and the 100 in English."""
    failures = eval_gate.run("cmrc2018", index_root=tmp_path)
    failures += eval_gate.run("cmrc2018-en", index_root=tmp_path)
    assert failures == []


@pytest.mark.slow
def test_news_questions_stay_above_the_floors(tmp_path, embedding_cache):
    """The news set: gold articles found, and time words keep results in their window."""
    failures = eval_gate.run_news(index_root=tmp_path)
    assert failures == []


@pytest.mark.slow
def test_latest_questions_stay_above_the_floors(tmp_path, embedding_cache):
    """最新 / latest questions: the newest relevant article first (the preference on)."""
    failures = eval_gate.run_news(index_root=tmp_path, name="news-recency")
    assert failures == []


@pytest.mark.slow
def test_news_questions_in_three_languages_stay_above_the_floors(tmp_path, embedding_cache):
    """Simplified, Traditional and English questions about the same articles, names
    written another way, and unanswerable ones: gold article, answer, no-answer decision."""
    failures = eval_gate.run_languages(index_root=tmp_path)
    assert failures == []
