"""The LLM hook against a real HTTP server on 127.0.0.1 speaking chat-completions.

The server is real (sockets, HTTP, server-sent events); only its answers are scripted.
The client, the prompt, the citation checks and the CLI are the project's own code,
run on the real sample index.
"""

from __future__ import annotations

import json

import pytest
from support.openai_server import Behaviour, ChatServer, start_server, stop_server
from support.sample import QUESTION, STOCKTAKE
from typer.testing import CliRunner

from rag.answer.llm import ChatClient, ChatReply
from rag.archive import Archive
from rag.cli import app
from rag.config import Settings
from rag.errors import ConfigError, LLMError
from rag.records import SearchOptions

runner = CliRunner()
GOOD_ANSWER = [
    "中美承诺以协商一致方式",
    "达成全球盘点决定。[1] ",
    "两国还承诺支持阿联酋成功举办COP28。[2]",
]


@pytest.fixture
def server():
    server = start_server()
    yield server
    stop_server(server)


def chat(server: ChatServer, timeout: float) -> str:
    client = ChatClient(server.base_url, "m", timeout=timeout)
    return client.stream_chat([{"role": "user", "content": "x"}]).text


def ask(server: ChatServer, index, *extra: str, env: dict[str, str] | None = None):
    args = ["ask", QUESTION, "--index", str(index), "-k", "5", "--llm"]
    args += ["--llm-url", server.base_url, "--llm-model", "test-model", *extra]
    return runner.invoke(app, args, env=env)


def test_client_streams_tokens_and_sends_the_chat_request(server):
    server.behaviour = Behaviour(tokens=["你好", "，世界", "。[1]"])
    seen: list[str] = []
    client = ChatClient(server.base_url, "test-model", api_key="sk-test", timeout=5)
    reply = client.stream_chat([{"role": "user", "content": "hi"}], seen.append)
    assert reply == ChatReply("你好，世界。[1]", "stop")
    assert seen == ["你好", "，世界", "。[1]"]
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "test-model"
    assert request.body["stream"] is True
    # only standard chat-completions fields, so that any compatible server takes them
    assert request.body["max_tokens"] == 512 and request.body["temperature"] == 0.1
    assert set(request.body) == {"model", "messages", "stream", "temperature", "max_tokens"}
    assert request.body["messages"] == [{"role": "user", "content": "hi"}]
    assert request.headers["Authorization"] == "Bearer sk-test"


def test_client_cuts_a_reply_that_repeats_itself_and_stops_reading(server):
    # A small model stuck repeating the prompt's instruction line: the stream never ends
    # by itself; the client must cut it at the repeat, well before its 5 s timeout.
    line = "请只依据上面的资料回答，并在每句话末尾标注资料编号 [n]。\n\n"
    server.behaviour = Behaviour(
        kind="loop",
        tokens=["请只依据", "上面的资料回答，", "并在每句话末尾标注资料编号 [n]。", "\n\n"],
    )
    seen: list[str] = []
    reply = ChatClient(server.base_url, "m", timeout=5).stream_chat(
        [{"role": "user", "content": "x"}], seen.append
    )
    assert reply == ChatReply(line.strip(), "repetition")
    assert "".join(seen).startswith(line + "请只依据")  # the stream was read up to the repeat


def test_client_cuts_a_phrase_written_over_and_over(server):
    server.behaviour = Behaviour(kind="loop", tokens=["持续、"])
    reply = ChatClient(server.base_url, "m", timeout=5).stream_chat(
        [{"role": "user", "content": "x"}]
    )
    assert reply == ChatReply("持续、", "repetition")


def test_client_reports_the_token_limit(server):
    server.behaviour = Behaviour(tokens=["中美承诺", "以协商一致"], finish_reason="length")
    client = ChatClient(server.base_url, "m", timeout=5, max_tokens=2)
    assert client.stream_chat([{"role": "user", "content": "x"}]) == ChatReply(
        "中美承诺以协商一致", "length"
    )
    assert server.requests[0].body["max_tokens"] == 2


def test_llm_max_tokens_is_a_validated_setting(server, sample_index, tmp_path):
    settings, _ = sample_index
    assert Settings().llm_max_tokens == 512
    with pytest.raises(ConfigError, match="llm_max_tokens"):
        Settings(llm_max_tokens=0)
    server.behaviour = Behaviour(tokens=["回答。[1]"])
    result = ask(server, settings.index_dir, "--json", env={"RAG_LLM_MAX_TOKENS": "64"})
    assert result.exit_code == 0, result.output
    assert server.requests[0].body["max_tokens"] == 64
    bad = ask(server, settings.index_dir, env={"RAG_LLM_MAX_TOKENS": "0"})
    assert bad.exit_code == 2 and "llm_max_tokens" in bad.stderr
    flag = ask(server, settings.index_dir, "--json", "--llm-max-tokens", "32")
    assert flag.exit_code == 0, flag.output
    assert server.requests[-1].body["max_tokens"] == 32
    out_of_range = ask(server, settings.index_dir, "--llm-max-tokens", "100000")
    assert out_of_range.exit_code == 2
    assert "llm_max_tokens = 100000 (from flag --llm-max-tokens)" in out_of_range.stderr


def test_client_sends_no_authorization_without_a_key(server):
    server.behaviour = Behaviour(tokens=["ok"])
    chat(server, 5)
    assert "Authorization" not in server.requests[0].headers


def test_client_accepts_a_non_streamed_reply(server):
    server.behaviour = Behaviour(kind="json", tokens=["整段回答。[1]"])
    text = chat(server, 5)
    assert text == "整段回答。[1]"


def test_client_drops_terminal_control_characters(server):
    server.behaviour = Behaviour(tokens=["\x1b]0;owned\x07答案", "\x1b[2J。[1]"])
    text = chat(server, 5)
    assert "\x1b" not in text and "\x07" not in text
    assert text.endswith("答案[2J。[1]")


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (Behaviour(kind="status", status=500), "HTTP 500"),
        (Behaviour(kind="status", status=401), "RAG_LLM_API_KEY"),
        (Behaviour(kind="status", status=404), "/v1"),
        (Behaviour(kind="raw", raw=b"data: {not json\n\n"), "malformed JSON"),
        (Behaviour(kind="raw", raw=b"<html>oops</html>\n"), "not a server-sent event"),
        (Behaviour(kind="raw", raw=b'data: {"answer": "hi"}\n\n'), "chat-completions format"),
        (Behaviour(kind="raw", raw=b'data: {"error": {"message": "no GPU"}}\n\n'), "no GPU"),
        (Behaviour(kind="raw", raw=b"data: [DONE]\n\n"), "empty answer"),
        (Behaviour(kind="raw", raw=b""), "without any chat-completion"),
    ],
)
def test_client_turns_every_failure_into_one_line_llm_error(server, behaviour, message):
    server.behaviour = behaviour
    with pytest.raises(LLMError) as caught:
        chat(server, 5)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_client_times_out_on_a_silent_server(server):
    server.behaviour = Behaviour(kind="hang")
    with pytest.raises(LLMError, match=r"did not answer within 0\.5s"):
        chat(server, 0.5)


def test_client_cuts_off_a_server_that_trickles_forever(server):
    server.behaviour = Behaviour(kind="trickle")
    with pytest.raises(LLMError, match="still sending"):
        chat(server, 0.5)


def test_cli_llm_happy_path_json(server, sample_index):
    settings, _ = sample_index
    server.behaviour = Behaviour(tokens=GOOD_ANSWER)
    result = ask(server, settings.index_dir, "--json", env={"RAG_LLM_API_KEY": "sk-abc"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"query", "index", "mode", "filters", "found", "notice", "hits"} <= set(data)
    answer = data["answer"]
    assert answer["mode"] == "llm"
    assert answer["text"] == "".join(GOOD_ANSWER).strip()
    assert [s["citations"] for s in answer["sentences"]] == [[1], [2]]
    assert not any(s["unsupported"] or s["invalid_citations"] for s in answer["sentences"])
    assert answer["notice"] is None
    assert [c["number"] for c in answer["citations"]] == [1, 2]
    assert answer["citations"][0]["chunk_id"] == data["hits"][0]["chunk_id"]
    assert answer["extra"]["model"] == "test-model"
    assert answer["extra"]["endpoint"].startswith(server.base_url)
    assert answer["llm_error"] is None

    (request,) = server.requests
    assert request.headers["Authorization"] == "Bearer sk-abc"
    assert request.body["model"] == "test-model" and request.body["stream"] is True
    system, user = request.body["messages"]
    assert system["role"] == "system" and "<passage>" in system["content"]
    for hit in data["hits"]:
        assert f'<passage id="{hit["rank"]}" title="{hit["title"]}"' in user["content"]
    assert STOCKTAKE in user["content"]
    assert user["content"].count("</passage>") == len(data["hits"])
    assert f"<question>{QUESTION}</question>" in user["content"]


def test_archive_ask_with_the_llm_streams_tokens_and_records_the_model(server, sample_index):
    settings, _ = sample_index
    server.behaviour = Behaviour(tokens=GOOD_ANSWER)
    archive = Archive(
        settings.with_overrides("test", llm_base_url=server.base_url, llm_model="test-model")
    )
    seen: list[str] = []
    asked = archive.ask(QUESTION, SearchOptions(k=5), llm=True, on_token=seen.append)
    answer = asked.answer
    assert seen == GOOD_ANSWER
    assert answer.mode == "llm" and answer.text == "".join(GOOD_ANSWER).strip()
    assert answer.model == "test-model" and answer.endpoint is not None
    assert answer.endpoint.startswith(server.base_url) and answer.llm_error is None
    assert [c.hit for c in answer.citations] == list(asked.result.hits[:2])

    server.behaviour = Behaviour(kind="status", status=500)
    failed = archive.ask(QUESTION, SearchOptions(k=5), llm=True).answer
    assert failed.mode == "extractive" and STOCKTAKE in failed.text
    assert failed.llm_error is not None and "HTTP 500" in failed.llm_error
    assert failed.model is None and failed.endpoint is None


def test_cli_llm_streams_the_answer_before_the_passages(server, sample_index):
    settings, _ = sample_index
    server.behaviour = Behaviour(tokens=GOOD_ANSWER)
    result = ask(server, settings.index_dir)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Answer (test-model") < out.index("".join(GOOD_ANSWER).strip())
    assert out.index("".join(GOOD_ANSWER).strip()) < out.index("Passages:") < out.index("[5] ")
    assert "unsupported" not in out and "points at no passage" not in out


def test_cli_flags_a_hallucinated_citation_and_an_uncited_sentence(server, sample_index):
    settings, _ = sample_index
    server.behaviour = Behaviour(tokens=["中美达成了全球盘点决定。[1][9] ", "这是常识。"])
    result = ask(server, settings.index_dir, "--json")
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)["answer"]["sentences"]
    assert first["citations"] == [1] and first["invalid_citations"] == [9]
    assert not first["unsupported"]
    assert second["unsupported"] and second["citations"] == []
    notice = json.loads(result.stdout)["answer"]["notice"]
    assert "[9]" in notice and "unsupported" in notice

    text = ask(server, settings.index_dir)
    assert "! sentence 1: [9] points at no passage" in text.stdout
    assert "! sentence 2 is unsupported (cites no passage): 这是常识。" in text.stdout


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (Behaviour(kind="hang"), "did not answer within 0.5s"),
        (Behaviour(kind="status", status=500), "HTTP 500"),
        (Behaviour(kind="raw", raw=b"data: {garbage\n\n"), "malformed JSON"),
        (Behaviour(kind="raw", raw=b"data: [1, 2, 3]\n\n"), "chat-completions format"),
    ],
)
def test_cli_falls_back_to_the_extractive_answer(server, sample_index, behaviour, message):
    settings, _ = sample_index
    server.behaviour = behaviour
    result = ask(server, settings.index_dir, "--llm-timeout", "0.5", "--json")
    assert result.exit_code == 0, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    answer = json.loads(result.stdout)["answer"]
    assert answer["mode"] == "extractive"
    assert STOCKTAKE in answer["text"]
    assert message in answer["notice"] and message in answer["llm_error"]


def test_cli_fallback_text_output(server, sample_index):
    settings, _ = sample_index
    server.behaviour = Behaviour(kind="status", status=503)
    result = ask(server, settings.index_dir)
    assert result.exit_code == 0
    assert result.stderr.startswith("error: the LLM at ")
    assert "HTTP 503" in result.stderr and "extractive answer instead" in result.stderr
    assert "Answer (quoted from the passages below):" in result.stdout
    assert STOCKTAKE in result.stdout and "Traceback" not in result.output


def test_cli_does_not_call_the_llm_when_nothing_was_found(server, sample_index):
    settings, _ = sample_index
    result = ask(server, settings.index_dir, "--source", "no-such-site", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["answer"]["mode"] == "none" and data["answer"]["found"] is False
    assert server.requests == []


def test_llm_settings_come_from_the_config_file(server, sample_index, tmp_path):
    settings, _ = sample_index
    config = tmp_path / "rag.toml"
    config.write_text(
        f'[llm]\nbase_url = "{server.base_url}"\nmodel = "from-file"\napi_key = "sk-file"\n'
        "timeout = 5\n",
        encoding="utf-8",
    )
    server.behaviour = Behaviour(tokens=["回答。[1]"])
    result = runner.invoke(
        app,
        ["ask", QUESTION, "--index", str(settings.index_dir), "--llm", "--json"],
        env={"RAG_CONFIG": str(config)},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answer"]["mode"] == "llm"
    (request,) = server.requests
    assert request.body["model"] == "from-file"
    assert request.headers["Authorization"] == "Bearer sk-file"


def test_cli_marks_an_answer_cut_at_a_repeat(server, sample_index):
    settings, _ = sample_index
    loop = ["中美承诺以协商一致方式达成全球盘点决定。[1]", "\n"]
    server.behaviour = Behaviour(kind="loop", tokens=loop)
    result = ask(server, settings.index_dir, "--llm-timeout", "5", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)["answer"]
    assert answer["mode"] == "llm" and answer["text"] == loop[0]
    assert answer["extra"]["finish_reason"] == "repetition"
    assert answer["notice"].startswith("the model began repeating itself")
    assert [s["citations"] for s in answer["sentences"]] == [[1]]

    text = ask(server, settings.index_dir, "--llm-timeout", "5")
    assert text.exit_code == 0, text.output
    assert "! the model began repeating itself" in text.stdout
    assert text.stdout.index("repeating itself") < text.stdout.index("Passages:")


def test_cli_marks_an_answer_that_hit_the_token_limit(server, sample_index):
    settings, _ = sample_index
    server.behaviour = Behaviour(tokens=["中美承诺以协商一致方式", "达成"], finish_reason="length")
    result = ask(server, settings.index_dir, "--json", env={"RAG_LLM_MAX_TOKENS": "2"})
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)["answer"]
    assert answer["extra"]["finish_reason"] == "length"
    assert "llm_max_tokens (2)" in answer["notice"] and "unsupported" in answer["notice"]


def test_an_english_question_is_put_into_chinese_by_the_llm(server, sample_index):
    settings, _ = sample_index
    archive = Archive(
        settings.with_overrides("test", llm_base_url=server.base_url, llm_model="test-model")
    )
    english = "What did China and the US promise at COP28?"
    server.behaviour = Behaviour(tokens=["中美在COP28上", "承诺了什么"])
    translated = archive.search(english, SearchOptions(k=5), llm=True)
    assert translated.understood is not None
    assert translated.understood.wording.translation == "中美在COP28上承诺了什么"
    assert "中美在COP28上承诺了什么" in (translated.understood.wording.keywords or "")
    system, user = server.requests[0].body["messages"]
    assert "Simplified Chinese" in system["content"]
    assert f"<question>{english}</question>" in user["content"]
    assert translated.hits[0].chunk.text.count("COP28") >= 1

    # a Chinese question is never sent for translation
    archive.search(QUESTION, SearchOptions(k=5), llm=True)
    assert len(server.requests) == 1


def test_a_reply_that_is_not_chinese_leaves_the_dictionary_translation(server, sample_index):
    settings, _ = sample_index
    archive = Archive(
        settings.with_overrides("test", llm_base_url=server.base_url, llm_model="test-model")
    )
    english = "What did China and the US promise at COP28?"
    server.behaviour = Behaviour(tokens=["Sure! Here is the question in Chinese:"])
    asked = archive.ask(english, SearchOptions(k=5), llm=True)
    assert asked.result.understood == archive.understand(english, SearchOptions(k=5))
    assert asked.answer.notice is not None
    assert "did not put the question into Chinese" in asked.answer.notice
    assert "the dictionary's translation was searched" in asked.answer.notice
