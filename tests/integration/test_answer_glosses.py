"""An English question's extractive answer on the real sample index carries the English
of the names and numbers it quotes (the glossing itself: unit/test_gloss.py)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()
ENGLISH = "What did China and the US promise at COP28?"


def test_ask_json_glosses_the_names_an_english_questions_answer_quotes(sample_index):
    settings, _ = sample_index
    result = runner.invoke(app, ["ask", ENGLISH, "--index", str(settings.index_dir), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)["answer"]
    assert answer["mode"] == "extractive" and answer["found"]
    glossed = {g["text"]: g["english"] for g in answer["glosses"]}
    assert glossed and all(text in answer["text"] for text in glossed)
    # the passages answering it are about the two countries' pledge
    assert glossed.get("中国") == "China" or glossed.get("美国") == "United States", glossed
