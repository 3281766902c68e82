"""The calibrated no-answer: the shipped model, its confidence in results and JSON, the
explicit --min-score override, and the warning printed for an uncertain answer."""

from __future__ import annotations

import json
from dataclasses import replace

from rich.console import Console
from support.sample import QUESTION
from typer.testing import CliRunner

from rag.cli import app
from rag.cli.render_answer import print_answer
from rag.records import SearchOptions
from rag.search.no_answer import load_model

runner = CliRunner()


def test_results_carry_a_confidence_that_decides_the_no_answer(sample_archive):
    model = load_model()
    assert model is not None
    answered = sample_archive.search(QUESTION, SearchOptions(k=3))
    refused = sample_archive.search("怎么做酸面包", SearchOptions(k=3))
    assert answered.confidence is not None and refused.confidence is not None
    assert answered.confidence >= model.threshold > refused.confidence
    assert answered.found and refused.no_answer
    assert "confidence" in (refused.notice or "")


def test_an_explicit_min_score_overrides_the_model(sample_archive):
    strict = sample_archive.search(QUESTION, SearchOptions(k=3, min_score=0.99))
    assert strict.no_answer and "best cosine" in (strict.notice or "")
    assert strict.confidence is not None  # still reported
    off = sample_archive.search("怎么做酸面包", SearchOptions(k=3, min_score=0.0))
    assert off.found and off.confidence is None  # check off: no model run


def test_json_exposes_the_confidence(sample_index):
    settings, _ = sample_index
    out = runner.invoke(app, ["ask", QUESTION, "--index", str(settings.index_dir), "--json"])
    data = json.loads(out.stdout)
    assert 0.0 <= data["confidence"] <= 1.0
    assert data["answer"]["confidence"] == data["confidence"]
    first = data["answer"]["sentences"][0]
    start, end = first["highlight"]  # the located answer phrase inside the first sentence
    assert 0 <= start < end <= len(first["text"])
    strict = ["ask", QUESTION, "--index", str(settings.index_dir), "--json", "--min-score", "0.99"]
    assert json.loads(runner.invoke(app, strict).stdout)["found"] is False


def test_an_uncertain_answer_says_so(sample_archive):
    answer = sample_archive.ask(QUESTION, SearchOptions(k=3)).answer
    for confidence, warned in ((0.55, True), (0.95, False)):
        console = Console(record=True, width=200)
        print_answer(console, replace(answer, confidence=confidence))
        assert ("uncertain" in console.export_text()) is warned
