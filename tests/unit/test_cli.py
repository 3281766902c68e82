"""The CLI in-process through typer's runner: exit codes, stdout/stderr, JSON shape, help
text (over the test-hash sample index; what the real engine answers is in
integration/test_cli.py)."""

from __future__ import annotations

import json

import pytest
import typer
from support.cli import check_stats_json, one_line_error
from support.sample import QUESTION
from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_ask_json_has_every_field(hash_index):
    settings, _ = hash_index
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


def test_stats_json_plumbing(hash_index):
    check_stats_json(hash_index, "test-hash")


def test_ask_without_an_index_says_how_to_build_one(tmp_path):
    result = invoke("ask", QUESTION, "--index", str(tmp_path / "none"))
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "rag index build" in line
    # where it looked, absolute, why there, and how to name another index
    assert f"looked in {tmp_path / 'none'}, index_dir from flag --index" in line
    assert "--index DIR, RAG_INDEX_DIR or index_dir in a settings file" in line


def test_empty_question_is_a_usage_error(hash_index):
    settings, _ = hash_index
    result = invoke("ask", "  ", "--index", str(settings.index_dir))
    assert result.exit_code == 2
    assert "QUESTION is empty" in one_line_error(result)


def test_build_of_a_missing_path_reports_and_strict_fails(tmp_path, sample_dir):
    index = tmp_path / "idx"
    result = invoke(
        "index",
        "build",
        str(sample_dir),
        str(tmp_path / "nope"),
        "--index",
        str(index),
        "--strict",
        "--embedder",
        "test-hash",
    )
    assert result.exit_code == 1
    assert "nope" in result.stderr
    assert "5 articles" in result.stdout  # the good files were still indexed


def _commands(command, path: tuple[str, ...] = ()):
    """Every command and sub-command under ``command`` (a click command), by its path."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():  # a group's sub-commands
        yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _flat(text: str) -> str:
    """Whitespace-normalised, so that text wrapped by the help formatter (at spaces, or
    after a hyphen: "milvus-\nlite") still matches."""
    return " ".join(text.split()).replace("- ", "-")


def test_the_command_walk_finds_every_command():
    # at least these (new commands join the help checks below without being listed here)
    assert set(COMMANDS) >= {
        (),
        ("index",),
        ("index", "build"),
        ("index", "update"),
        ("index", "stats"),
        ("ask",),
        ("eval",),
        ("serve",),
    }


def test_every_command_has_its_own_help_text():
    texts = {path: _flat(command.help or "") for path, command in COMMANDS.items()}
    assert all(texts.values()), [path for path, text in texts.items() if not text]
    assert len(set(texts.values())) == len(texts), "a command shows another command's help"


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "rag")
def test_every_command_help_shows_its_text_and_every_option(path):
    command = COMMANDS[path]
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout
    shown = _flat(result.stdout)
    help_text = _flat(command.help or "")
    assert help_text and help_text in shown, (help_text, result.stdout)
    for param in command.params:
        param_help = _flat(getattr(param, "help", None) or "")
        # literally: "[default: 5]" in an option's help is text, never markup
        assert param_help in shown, (param.name, param_help, result.stdout)


def test_help_shows_defaults_in_brackets_literally():
    shown = _flat(invoke("ask", "--help").stdout)
    assert "[default: index_dir; 'rag config' shows where it is]" in shown
    assert "[default: 5]" in shown and "[default: 2]" in shown and "[default: 60]" in shown
    build = _flat(invoke("index", "build", "--help").stdout)
    assert "[default: 300]" in build and "[default: 20]" in build
    update = _flat(invoke("index", "update", "--help").stdout)
    assert "[default: the paths the index was built from]" in update
