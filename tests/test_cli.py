"""The CLI in-process through typer's runner: exit codes, stdout/stderr, JSON shape."""

from __future__ import annotations

import json

import pytest
from conftest import QUESTION, STOCKTAKE
from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_ask_prints_cited_passages(sample_index):
    settings, _ = sample_index
    result = invoke("ask", QUESTION, "--index", str(settings.index_dir), "-k", "3")
    assert result.exit_code == 0, result.output
    assert "[1]" in result.stdout and "rfi.fr" in result.stdout
    assert "2023-11-15" in result.stdout
    assert STOCKTAKE in result.stdout


def test_ask_json_has_every_field(sample_index):
    settings, _ = sample_index
    result = invoke(
        "ask",
        "What did China and the US promise at COP28?",
        "--index",
        str(settings.index_dir),
        "--json",
        "-k",
        "5",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"].startswith("What did")
    assert data["index"] == str(settings.index_dir)
    assert len(data["hits"]) == 5
    for hit in data["hits"]:
        for key in (
            "rank",
            "score",
            "title",
            "published",
            "source",
            "url",
            "text",
            "article_id",
            "chunk_id",
            "start",
            "end",
        ):
            assert hit[key] is not None, key
        assert hit["end"] - hit["start"] == len(hit["text"])


def test_stats_json(sample_index):
    settings, report = sample_index
    result = invoke("index", "stats", "--index", str(settings.index_dir), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["articles"] == 5 and data["passages"] == report.passages
    assert data["embedder"] == "intfloat/multilingual-e5-small"
    assert data["bytes_index"] > 0


def test_ask_without_an_index_says_how_to_build_one(tmp_path):
    result = invoke("ask", QUESTION, "--index", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "rag index build" in result.stderr
    assert "Traceback" not in result.output


def test_empty_question_exits_1(sample_index):
    settings, _ = sample_index
    result = invoke("ask", "  ", "--index", str(settings.index_dir))
    assert result.exit_code == 1
    assert "empty" in result.stderr


def test_build_of_a_missing_path_reports_and_strict_fails(tmp_path, sample_dir):
    index = tmp_path / "idx"
    result = invoke(
        "index", "build", str(sample_dir), str(tmp_path / "nope"), "--index", str(index), "--strict"
    )
    assert result.exit_code == 1
    assert "nope" in result.stderr
    assert "5 articles" in result.stdout  # the good files were still indexed


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["index"],
        ["index", "build"],
        ["index", "update"],
        ["index", "stats"],
        ["ask"],
        ["eval"],
        ["serve"],
    ],
)
def test_every_command_has_help(args):
    result = invoke(*args, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout
    assert len(result.stdout) > 100
