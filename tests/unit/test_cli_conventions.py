"""The command line follows its ecosystem's conventions: --version, shell completion, help
that lists choices and defaults in click's spelling, exit codes (0 done, 1 a failure at
work, 2 a usage error), ``rag config`` with the origin of every setting, and a default
index in the user's data folder that every working directory finds. Over ``test-hash``
indexes (plumbing only; what the real engine prints is in integration/test_cli.py, the
terminal output in test_cli_output.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from support.cli import one_line_error
from support.sample import QUESTION, SAMPLE
from typer.testing import CliRunner

import rag
from rag.cli import app
from rag.config import INDEX_KINDS, MODES, SETTING_NAMES, TEST_EMBEDDER, Settings

runner = CliRunner()
RAG = Path(sys.executable).with_name("rag")  # the console script users run


def invoke(*args: str, **env: str):
    return runner.invoke(app, list(args), env={"RAG_CONFIG": "", **env})


def _commands(command, path: tuple[str, ...] = ()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(typer.main.get_command(app)))
GROUPS = [path for path, command in COMMANDS.items() if hasattr(command, "commands")]


def help_of(path: tuple[str, ...]) -> str:
    result = invoke(*path, "--help", COLUMNS="80")
    assert result.exit_code == 0, result.output
    return result.stdout


# --version and completion, as a shell runs them


def test_version_prints_the_package_version():
    done = subprocess.run([RAG, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"rag {rag.__version__}\n"


def test_completion_script_is_offered_for_bash():
    done = subprocess.run(
        [RAG, "--show-completion", "bash"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "_RAG_COMPLETE=complete_bash" in done.stdout and "complete " in done.stdout


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("rag con", {"config"}),
        ("rag ask q --mode ", set(MODES)),
        ("rag index build x --kind ", set(INDEX_KINDS)),
        ("rag index build x --backend m", {"milvus"}),
    ],
)
def test_completion_completes_commands_and_choices(words, expected):
    """What bash's completion function asks the program, the way the script asks it."""
    env = {
        **os.environ,
        "_RAG_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    done = subprocess.run([RAG], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected


# help in click's conventions


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "rag")
def test_command_lists_show_whole_summaries_on_one_line(path):
    """Each command's first sentence, whole, on its own line of an 80-column listing."""
    shown = help_of(path)
    listed = shown[shown.index("Commands:") :].splitlines()
    assert not any(line.rstrip().endswith("...") for line in listed), listed
    for name, command in COMMANDS[path].commands.items():
        first = " ".join((command.help or "").split("\n\n")[0].split())
        summary = first[: first.index(".") + 1]
        (line,) = [line for line in listed if line.split()[:1] == [name]]
        assert line.endswith(summary) and len(line) <= 80, (name, summary, line)


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "rag")
def test_usage_and_placeholders_are_in_capitals(path):
    shown = help_of(path)
    usage = shown.splitlines()[0]
    assert "{" not in usage and "<" not in usage, usage
    for param in COMMANDS[path].params:
        if param.param_type_name == "argument":
            assert param.name.upper() in usage, usage
    assert not re.search(r"-[\w-]+ <", shown), "typer's <int>/<path> placeholders"


def test_usage_shows_arguments_as_click_does():
    assert help_of(("ask",)).splitlines()[0].endswith(" ask [OPTIONS] QUESTION")
    assert help_of(("index", "build")).splitlines()[0].endswith("[OPTIONS] PATHS...")
    assert help_of(("index", "update")).splitlines()[0].endswith("[OPTIONS] [PATHS]...")


def test_choices_and_defaults_are_shown():
    ask = " ".join(help_of(("ask",)).split())
    assert "--mode [hybrid|dense|keyword]" in ask and "[default: hybrid]" in ask
    assert "--min-score NUMBER" in ask
    assert "[default: 0.87 for Chinese questions, 0.75 for others" in ask
    assert "--since DATE" in ask and "-k, --top-k INTEGER" in ask
    build = " ".join(help_of(("index", "build")).split())
    assert "--kind [auto|flat|ivf|hnsw]" in build and "[default: auto]" in build
    assert "--backend [local|milvus]" in build and "[default: local]" in build


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["ask", QUESTION, "--mode", "semantic"], "must be one of hybrid, dense, keyword"),
        (["index", "build", "x", "--kind", "exact"], "must be one of auto, flat, ivf, hnsw"),
        (["index", "build", "x", "--backend", "faiss"], "must be one of local, milvus"),
    ],
)
def test_a_wrong_choice_is_a_usage_error_naming_the_choices(args, named, tmp_path):
    result = invoke(*args, "--index", str(tmp_path / "never"))
    assert result.exit_code == 2
    assert named in one_line_error(result)
    assert not (tmp_path / "never").exists()


# exit codes: 2 for what the user typed wrong, 1 for a failure at work


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--since", "2023-13-01"], "--since: invalid date '2023-13-01'"),
        (["--until", "yesterday"], "--until: invalid date 'yesterday'"),
        (["--since", "2023-12-01", "--until", "2023-11-01"], "swap them"),
        (["-k", "0"], "top_k = 0 (from flag -k)"),
        (["--as-of", "2023-02-30"], "as_of"),
        (["--min-score", "2"], "--min-score 2.0 must be between 0 and 1"),
    ],
)
def test_bad_values_of_ask_exit_2_with_one_line(hash_index, args, named):
    settings, _ = hash_index
    result = invoke("ask", QUESTION, "--index", str(settings.index_dir), *args)
    assert result.exit_code == 2, result.output
    assert named in one_line_error(result)


def test_a_bad_date_of_timeline_exits_2(hash_index):
    settings, _ = hash_index
    result = invoke("timeline", "气候", "--index", str(settings.index_dir), "--since", "2023/11")
    assert result.exit_code == 2
    assert "--since" in one_line_error(result)


def test_a_value_click_cannot_parse_exits_2():
    assert invoke("ask", QUESTION, "-k", "five").exit_code == 2


@pytest.mark.parametrize(
    ("command", "module"), [(["serve", "--port", "59999"], "fastapi"), (["mcp"], "mcp")]
)
def test_a_server_without_its_extra_says_so_before_announcing_itself(
    command, module, monkeypatch, tmp_path
):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    result = invoke(*command, "--index", str(tmp_path))
    assert result.exit_code == 1
    line = one_line_error(result)
    assert module in line and "pip install 'rag-news[" in line
    assert "serving" not in result.output


# rag config: every setting, its value and where it came from


def test_config_shows_every_setting_with_its_origin(tmp_path, monkeypatch):
    settings_file = tmp_path / "rag.toml"
    settings_file.write_text('chunk_size = 400\n[llm]\nmodel = "m1"\n', encoding="utf-8")
    result = invoke(
        "config",
        "--index",
        str(tmp_path / "idx"),
        RAG_CONFIG=str(settings_file),
        RAG_TOP_K="8",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"# settings file: {settings_file}"
    assert f'index_dir = "{tmp_path / "idx"}"  # flag --index' in lines
    assert "top_k = 8  # environment RAG_TOP_K" in lines
    assert f"chunk_size = 400  # settings file {settings_file}" in lines
    assert f'llm_model = "m1"  # settings file {settings_file}' in lines
    assert 'mode = "hybrid"  # default' in lines
    for name in SETTING_NAMES:
        assert sum(line.lstrip("# ").startswith(f"{name} ") for line in lines) == 1, name


def test_config_json_has_every_value_and_origin(tmp_path):
    result = invoke("config", "--json", RAG_MODE="keyword")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings_file"] is None
    assert list(data["settings"]) == list(SETTING_NAMES)
    assert data["settings"]["mode"] == {"value": "keyword", "origin": "environment RAG_MODE"}
    assert data["settings"]["top_k"] == {"value": 5, "origin": "default"}
    assert data["settings"]["index_dir"]["value"] == str(Settings().index_dir)


def test_config_output_is_a_settings_file_that_gives_the_same_settings(tmp_path):
    shown = invoke("config", RAG_TOP_K="9", RAG_FOLLOW_SYMLINKS="yes", RAG_AS_OF="2024-01-02")
    assert shown.exit_code == 0, shown.output
    copy = tmp_path / "copy.toml"
    copy.write_text(shown.stdout, encoding="utf-8")
    before = json.loads(
        invoke(
            "config", "--json", RAG_TOP_K="9", RAG_FOLLOW_SYMLINKS="yes", RAG_AS_OF="2024-01-02"
        ).stdout
    )["settings"]
    after = json.loads(invoke("config", "--json", RAG_CONFIG=str(copy)).stdout)["settings"]
    assert {k: v["value"] for k, v in after.items()} == {k: v["value"] for k, v in before.items()}
    assert after["top_k"]["origin"] == f"settings file {copy}"


def test_config_never_prints_the_llm_api_key():
    for args in ((), ("--json",)):
        result = invoke("config", *args, RAG_LLM_API_KEY="sk-do-not-print")
        assert result.exit_code == 0, result.output
        assert "sk-do-not-print" not in result.output
        assert "llm_api_key" in result.stdout


# the default index: the user's data folder, whatever the working directory


def test_tests_never_touch_the_real_user_folders(tmp_path_factory):
    temporary = tmp_path_factory.getbasetemp()
    for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        assert Path(os.environ[variable]).is_relative_to(temporary), variable
    assert Settings().index_dir.is_relative_to(temporary)


def test_the_default_index_is_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    default = tmp_path / "data" / "rag" / "indexes" / "default"
    monkeypatch.chdir(tmp_path)
    built = invoke("index", "build", str(SAMPLE), "--embedder", TEST_EMBEDDER)
    assert built.exit_code == 0, built.output
    assert (default / "CURRENT").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    asked = invoke("ask", QUESTION, "--json")
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["index"] == str(default)
    stats = invoke("index", "stats")
    assert f"index: {default}" in stats.stdout


def test_without_an_index_the_error_names_the_default_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    result = invoke("ask", QUESTION)
    assert result.exit_code == 1
    line = one_line_error(result)
    default = tmp_path / "data" / "rag" / "indexes" / "default"
    assert f"looked in {default}, index_dir from default" in line
    assert "rag index build" in line and "--index DIR, RAG_INDEX_DIR" in line


def test_a_relative_index_is_named_absolute_in_the_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("ask", QUESTION, RAG_INDEX_DIR="rel/idx")
    assert result.exit_code == 1
    assert f"looked in {tmp_path / 'rel' / 'idx'}, index_dir from environment RAG_INDEX_DIR" in (
        one_line_error(result)
    )
