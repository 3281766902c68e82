"""The retrieval-quality gate on CMRC 2018 and the news question set (both bundled in
tests/data): floors pinned in quality/floors.json. The larger gate with the news-oped2
distractors runs in `make eval`."""

from __future__ import annotations

import importlib.util
import json

import pytest
from support.sample import ROOT

spec = importlib.util.spec_from_file_location("eval_gate", ROOT / "scripts" / "eval_gate.py")
assert spec and spec.loader
eval_gate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(eval_gate)


def test_floors_file_covers_both_benchmarks_and_all_modes():
    floors = json.loads((ROOT / "quality" / "floors.json").read_text("utf-8"))
    assert set(floors) == {
        "cmrc2018",
        "cmrc2018-en",
        "cmrc2018+news-oped2",
        "cmrc2018-tw",
        "cmrc2018-tw+news-oped2",
        "news",
        "news-recency",
    }
    for name, table in floors.items():
        if not name.startswith("news") and name != "cmrc2018-en":
            assert set(table["passage"]) == {"hybrid", "dense", "keyword"}
    assert "answer contains gold" in floors["cmrc2018"]["answers"]
    assert "answer contains gold" in floors["cmrc2018-en"]["answers"]
    assert "window precision" in floors["news"]["window, words dropped"]


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


def test_the_gate_catches_a_drop():
    from rag.eval.retrieval import EvalReport, Metrics

    weak = Metrics({1: 0.5, 5: 0.6, 10: 0.7}, 0.55, 0.6)
    report = EvalReport("x", 1, 1, 1, None, {"hybrid": weak}, {"hybrid": weak}, {"hybrid": 1.0}, 0)
    failures = eval_gate.check("x", report, {"passage": {"hybrid": {"R@5": 0.95}}})
    assert failures == ["x passage hybrid R@5: 0.6000 < floor 0.95"]


def test_the_gate_catches_an_answer_drop():
    from rag.eval.answers import AnswerMetrics
    from rag.eval.retrieval import EvalReport, Metrics

    ok = Metrics({1: 0.9, 5: 0.95, 10: 0.97}, 0.92, 0.93)
    answers = AnswerMetrics(10, 0.5, 0.4, 0.3, 0.9, 120.0, 2.5)
    report = EvalReport(
        "x", 10, 1, 1, None, {}, {"hybrid": ok}, {"hybrid": 1.0}, 0, answers=answers
    )
    floors = {"answers": {"answer contains gold": 0.7, "first sentence contains gold": 0.4}}
    failures = eval_gate.check("x", report, floors)
    assert failures == ["x answers answer contains gold: 0.5000 < floor 0.7"]
    missing = EvalReport("x", 10, 1, 1, None, {}, {"hybrid": ok}, {"hybrid": 1.0}, 0)
    assert eval_gate.check("x", missing, floors) == ["x answers: not measured"]
