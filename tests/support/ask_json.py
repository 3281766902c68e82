"""What ``rag ask --json`` prints, checked alike by integration/test_answer.py (the real
engine), unit/test_answer.py (test-hash) and integration/test_prompt_injection.py."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from rag.cli import app
from support.sample import QUESTION

# the top-level keys of ``rag ask --json``, in their order
ASK_JSON_KEYS = [
    "query",
    "index",
    "mode",
    "filters",
    "found",
    "confidence",
    "notice",
    "time_window",
    "recency",
    "understood",
    "names_read",
    "hits",
    "answer",
]


def check_ask_json_shape(data: dict[str, Any]) -> None:
    """The keys in their order, and the sample question understood as Chinese."""
    assert list(data) == ASK_JSON_KEYS
    assert data["understood"]["language"] == "zh" and data["understood"]["text"] == QUESTION


def check_citations_name_their_hits(data: dict[str, Any]) -> None:
    """Each citation's number is a hit's rank and its chunk id that hit's."""
    chunk_ids = {h["rank"]: h["chunk_id"] for h in data["hits"]}
    for citation in data["answer"]["citations"]:
        assert chunk_ids[citation["number"]] == citation["chunk_id"]


def check_no_answer_flags(base: list[str]) -> None:
    """``base`` is an ``ask ... --json`` command line: --no-answer and --passages-only
    leave the answer out, and without --json the passages come first."""
    runner = CliRunner()
    for flag in ("--no-answer", "--passages-only"):
        result = runner.invoke(app, [*base, flag])
        assert result.exit_code == 0 and json.loads(result.stdout)["answer"] is None
    text = runner.invoke(app, [*base[:-1], "--no-answer"]).stdout
    assert text.startswith("[1] ") and "Answer" not in text
