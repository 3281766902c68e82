"""The no-answer model as shipped, and how an uncertain answer is shown (the confidence
e5's scores give real questions is checked in integration/test_no_answer.py)."""

from __future__ import annotations

import json
from dataclasses import replace

from rich.console import Console
from support.sample import QUESTION

from rag.cli.render_answer import print_answer
from rag.records import SearchOptions
from rag.search.no_answer import FEATURES, MODEL_FILE, load_model, model_from_dict


def test_the_shipped_model_covers_chinese_and_other_questions():
    model = load_model()
    assert model is not None and model.features == FEATURES
    assert set(model.languages) == {"zh", "other"}
    data = json.loads(MODEL_FILE.read_text("utf-8"))
    assert model_from_dict(data) == model
    for part in model.languages.values():
        assert len(part.weights) == len(part.mean) == len(part.scale) == len(FEATURES)


def test_an_uncertain_answer_says_so_plumbing(hash_archive):
    # min_score 0: test-hash cosines are no evidence, so only then is an answer composed
    answer = hash_archive.ask(QUESTION, SearchOptions(k=3, min_score=0)).answer
    assert answer.mode == "extractive"
    for confidence, warned in ((0.55, True), (0.95, False)):
        console = Console(record=True, width=200)
        print_answer(console, replace(answer, confidence=confidence))
        assert ("uncertain" in console.export_text()) is warned
