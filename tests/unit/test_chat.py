"""Conversations on the command line with test-hash: rag ask --continue and the kept
conversation (its size, age and privacy), rag chat reading a piped conversation. rag chat
in a real terminal with e5 is in tests/integration/test_chat.py."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.cli.conversation import (
    MAX_AGE,
    MAX_QUESTIONS,
    Conversation,
    conversation_path,
    load_conversation,
    save_conversation,
)

COP28 = "中美在COP28上承诺了什么"


@pytest.fixture(autouse=True)
def own_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def ask(index: Path, *args: str) -> dict:
    result = CliRunner().invoke(app, ["ask", *args, "--index", str(index), "--json", "-k", "2"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_ask_continue_completes_a_follow_up_of_the_last_question(hash_index) -> None:
    index = hash_index[0].index_dir
    first = ask(index, COP28)
    assert "follow_up" not in first  # a question on its own is answered as it always was
    followup = ask(index, "--continue", "那甲烷呢？")["follow_up"]
    assert followup["searched"] == "中美 COP28 承诺 甲烷" and followup["completed"]
    third = ask(index, "--continue", "他们要成立什么工作组？")
    assert third["follow_up"]["carried"][:2] == ["中美", "COP28"]
    assert third["query"] == third["follow_up"]["searched"]
    fresh = ask(index, "--continue", "深圳最大的城中村在哪里？")["follow_up"]
    assert fresh["new_topic"] and not fresh["completed"]
    assert load_conversation().questions == ("深圳最大的城中村在哪里？",)
    alone = ask(index, "那甲烷呢？")  # without --continue nothing is carried
    assert alone["query"] == "那甲烷呢？" and "follow_up" not in alone


def test_ask_continue_shows_what_was_searched(hash_index) -> None:
    index = str(hash_index[0].index_dir)
    CliRunner().invoke(app, ["ask", COP28, "--index", index, "--no-answer"])
    result = CliRunner().invoke(app, ["ask", "--continue", "那甲烷呢？", "--index", index])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "检索：中美 COP28 承诺 甲烷"


def test_the_kept_conversation_is_private_bounded_and_forgotten(own_data_folder: Path) -> None:
    questions = tuple(f"问题{n}" for n in range(MAX_QUESTIONS + 3))
    save_conversation(Conversation(questions, None))
    path = conversation_path()
    assert path.is_relative_to(own_data_folder)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_conversation().questions == questions[-MAX_QUESTIONS:]
    assert load_conversation(now=time.time() + MAX_AGE + 1) == Conversation()
    path.write_text("{not json", encoding="utf-8")
    assert load_conversation() == Conversation()


def test_chat_reads_a_piped_conversation_one_question_a_line(hash_index) -> None:
    lines = f"{COP28}\n那甲烷呢？\n\n/new\n那甲烷呢？\n"
    result = CliRunner().invoke(
        app, ["chat", "--index", str(hash_index[0].index_dir), "--json", "-k", "2"], input=lines
    )
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["follow_up"]["searched"] for a in answers] == [
        COP28,
        "中美 COP28 承诺 甲烷",
        "那甲烷呢？",  # after /new nothing is carried
    ]
    assert all(a["answer"] is not None and a["hits"] for a in answers)


def test_chat_prints_each_answer_after_the_searched_line_and_goes_on_after_an_error(
    hash_index,
) -> None:
    long = "长" * 5000
    result = CliRunner().invoke(
        app,
        ["chat", "--index", str(hash_index[0].index_dir), "-k", "1"],
        input=f"{COP28}\n{long}\n那甲烷呢？\n/quit\n那甲烷呢？\n",
    )
    assert result.exit_code == 1  # one question failed
    assert result.stdout.count("检索：中美 COP28 承诺 甲烷") == 1  # /quit ended it
    assert result.stdout.count("Ranked by meaning and keywords") == 2
    assert "error: the question is 5,000 characters" in result.stderr
