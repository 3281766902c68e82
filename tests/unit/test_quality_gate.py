"""The retrieval-quality gate's floors file and its checks, on made-up reports (the gate
itself, run on the real engine, is integration/test_quality_gate.py)."""

from __future__ import annotations

import json

from support.eval_gate import eval_gate
from support.sample import ROOT


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
        "news-languages",
    }
    for name, table in floors.items():
        if not name.startswith("news") and name != "cmrc2018-en":
            assert set(table["passage"]) == {"hybrid", "dense", "keyword"}
    assert "answer contains gold" in floors["cmrc2018"]["answers"]
    assert "answer contains gold" in floors["cmrc2018-en"]["answers"]
    assert "window precision" in floors["news"]["window, words dropped"]
    # every language of the hand-written sets, and the no-answer decision both ways
    rows = floors["news-languages"]
    for row in ("news_questions_en en", "news_questions_tw zh-Hant", "names_questions en"):
        assert {"R@1", "R@5", "answer contains gold", "answered"} <= set(rows[row])
    for lang in ("zh", "zh-Hant"):  # English: the cosine threshold decides (docs/quality.md)
        assert "refused" in rows[f"news_unanswerable {lang}"]


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
