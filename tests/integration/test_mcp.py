"""``rag mcp`` as MCP clients see it: the SDK's own client starts the real command (stdio,
or streamable HTTP on 127.0.0.1) over the real sample index and calls every tool."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent, Tool
from support.mcp_http import free_port, mcp_http_server
from support.sample import QUESTION, ROOT, SAMPLE, STOCKTAKE
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app
from rag.config import MODES, Settings
from rag.records import BuildReport

TIMEOUT = 120  # seconds a call may take before the test fails instead of hanging
CITATION = re.compile(r"\[(\d+)\]")


class Session:
    """A connected MCP client, called from synchronous tests through an anyio portal."""

    def __init__(self, portal: BlockingPortal, client: Client) -> None:
        self.portal, self.client = portal, client

    def tools(self) -> dict[str, Tool]:
        return {t.name: t for t in self.portal.call(self.client.list_tools).tools}

    def call(self, tool: str, **arguments: Any) -> CallToolResult:
        return self.portal.call(self.client.call_tool, tool, arguments)

    def data(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """The structured result of a call that must succeed."""
        result = self.call(tool, **arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        return result.structured_content

    def error(self, tool: str, **arguments: Any) -> str:
        """The one line of a call that must fail as a tool error."""
        result = self.call(tool, **arguments)
        assert result.is_error, result.structured_content
        assert result.structured_content is None
        [block] = result.content
        assert isinstance(block, TextContent)
        assert "\n" not in block.text, block.text
        return block.text


@contextmanager
def connected(transport: Any) -> Iterator[Session]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            Client(transport, read_timeout_seconds=TIMEOUT)
        ) as client,
    ):
        yield Session(portal, client)


def rag_mcp(index: Path, *args: str) -> list[str]:
    return ["-m", "rag.cli", "mcp", "--index", str(index), *args]


@contextmanager
def stdio_server(index: Path, log: Path) -> Iterator[Session]:
    """``rag mcp --index INDEX`` started by the SDK's stdio client; its stderr goes to ``log``."""
    params = StdioServerParameters(command=sys.executable, args=rag_mcp(index), cwd=ROOT)
    with log.open("w", encoding="utf-8") as errlog, connected(stdio_client(params, errlog)) as s:
        yield s


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp") / "stderr.log"


@pytest.fixture(scope="module")
def session(sample_index: tuple[Settings, BuildReport], server_log: Path) -> Iterator[Session]:
    """One stdio server over the sample index for the module (tools are read-only)."""
    with stdio_server(sample_index[0].index_dir, server_log) as s:
        yield s


def test_the_server_lists_its_tools_that_say_when_to_use_them(session):
    tools = session.tools()
    assert set(tools) == {"search", "ask", "get_article", "timeline", "watch_check"}
    for tool in tools.values():
        assert tool.description and "Use it" in tool.description, tool.name
        # a watch check records what it returned as shown; the others only read
        read_only = tool.name != "watch_check"
        assert tool.annotations is not None and tool.annotations.read_only_hint is read_only
    assert QUESTION in (tools["search"].description or "")
    assert QUESTION in (tools["ask"].description or "")
    assert STOCKTAKE in (tools["get_article"].description or "")
    assert tools["get_article"].input_schema["required"] == ["article_id"]


def test_the_search_schema_holds_the_limits_the_server_enforces(session):
    for name in ("search", "ask"):
        schema = session.tools()[name].input_schema
        props = schema["properties"]
        assert schema["required"] == ["question"]
        assert set(props) == {
            "question",
            "k",
            "mode",
            "since",
            "until",
            "source",
            "as_of",
            "per_source",
            "previous",
        }
        [previous] = [s for s in props["previous"]["anyOf"] if s.get("type") == "array"]
        assert previous["maxItems"] == 8 and previous["items"]["minLength"] == 1
        [k] = [s for s in props["k"]["anyOf"] if s.get("type") == "integer"]
        assert (k["minimum"], k["maximum"]) == (1, 50)
        [cap] = [s for s in props["per_source"]["anyOf"] if s.get("type") == "integer"]
        assert (cap["minimum"], cap["maximum"]) == (0, 50)
        [mode] = [s for s in props["mode"]["anyOf"] if "enum" in s]
        assert tuple(mode["enum"]) == MODES  # the modes the archive knows, no more, no less
        assert "YYYY-MM-DD" in props["since"]["description"]


def test_search_returns_the_cited_passages(session):
    data = session.data("search", question=QUESTION, k=3)
    assert data["found"] is True and data["mode"] == "hybrid"
    hits = data["hits"]
    assert len(hits) == 3
    assert any(STOCKTAKE in hit["text"] for hit in hits)
    for hit in hits:
        assert hit["title"] and hit["source"] and hit["article_id"] and hit["chunk_id"]
        assert hit["url"].startswith("https://")
        assert re.match(r"\d{4}-\d{2}-\d{2}T", hit["published"])
        assert hit["end"] - hit["start"] == len(hit["text"])
    stocktake = next(h for h in hits if STOCKTAKE in h["text"])
    assert stocktake["source"] == "rfi.fr" and stocktake["published"].startswith("2023-11-15")


def test_every_tool_declares_a_typed_output_schema_its_results_follow(session):
    tools = session.tools()
    question = {"question": QUESTION, "k": 3}
    calls = {"search": question, "ask": question, "timeline": {"question": "中美气候合作"}}
    for name, arguments in calls.items():
        schema = tools[name].output_schema
        assert schema is not None and schema["additionalProperties"] is False, name
        jsonschema.validate(session.data(name, **arguments), schema)
    search = tools["search"].output_schema
    assert {"hits", "found", "answer"} <= set(search["required"])
    assert search["properties"]["mode"]["enum"] == list(MODES)
    hit = session.data("search", question=QUESTION, k=1)["hits"][0]
    article = session.data("get_article", article_id=hit["article_id"])
    jsonschema.validate(article, tools["get_article"].output_schema)
    # a result missing a field or holding one more breaks the schema
    broken = {k: v for k, v in article.items() if k != "passages"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, tools["get_article"].output_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**article, "extra": 1}, tools["get_article"].output_schema)


def text_of(result: CallToolResult) -> str:
    [block] = result.content
    assert isinstance(block, TextContent)
    return block.text


def test_the_text_the_model_reads_is_short_and_names_what_it_cites(session):
    result = session.call("search", question=QUESTION)
    text, data = text_of(result), result.structured_content
    assert data is not None
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # not the structured content a second time
    assert len(text) < len(json.dumps(data, ensure_ascii=False, separators=(",", ":"))) / 2
    assert STOCKTAKE in text  # Chinese as it is, not \\u escapes
    for hit in data["hits"]:
        assert f"[{hit['rank']}] {hit['title']} | {hit['source']} | " in text
        assert f"{hit['published'][:10]} | article_id {hit['article_id']}" in text
        assert hit["url"] in text and hit["text"] in text
    asked = session.call("ask", question=QUESTION, k=3)
    answer = asked.structured_content["answer"]  # type: ignore[index]
    assert text_of(asked).startswith(
        f"Answer (extractive; [n] cites passage n below):\n{answer['text']}"
    )


def test_the_text_says_when_nothing_is_relevant(session):
    text = text_of(session.call("ask", question=QUESTION, since="2030-01-01"))
    assert text.startswith("No answer: no article matches the filters")
    assert "0 passages (hybrid)" in text


def test_timeline_and_article_texts_hold_dates_outlets_and_the_text(session):
    data = session.data("timeline", question="中美气候合作")
    text = text_of(session.call("timeline", question="中美气候合作"))
    assert text.startswith(f"{len(data['entries'])} articles about '中美气候合作', oldest first.")
    for entry in data["entries"]:
        assert f"{entry['published'][:10]} | {entry['source']} | {entry['title']}" in text
        assert entry["sentence"] in text
    article = session.data("get_article", article_id=data["entries"][0]["article_id"])
    text = text_of(session.call("get_article", article_id=article["id"]))
    assert text.startswith(f"{article['title']}\n{article['source']} | {article['published'][:10]}")
    assert text.endswith(article["text"]) and article["url"] in text


def test_search_answers_with_the_object_rag_ask_json_prints(session, sample_index):
    index = str(sample_index[0].index_dir)
    data = session.data("search", question=QUESTION, k=4, mode="dense")
    cli = CliRunner().invoke(
        app,
        ["ask", QUESTION, "--index", index, "-k", "4", "--mode", "dense", "--no-answer", "--json"],
    )
    assert cli.exit_code == 0, cli.output
    assert data == json.loads(cli.stdout)


def test_ask_answers_with_the_object_rag_ask_json_prints(session, sample_index):
    index = str(sample_index[0].index_dir)
    data = session.data("ask", question=QUESTION, k=3)
    cli = CliRunner().invoke(app, ["ask", QUESTION, "--index", index, "-k", "3", "--json"])
    assert cli.exit_code == 0, cli.output
    assert data == json.loads(cli.stdout)


def test_ask_quotes_the_passages_with_n_citations(session):
    data = session.data("ask", question=QUESTION, k=3)
    answer, hits = data["answer"], data["hits"]
    assert answer["mode"] == "extractive" and answer["found"] is True
    assert STOCKTAKE in answer["text"]
    cited = [int(n) for n in CITATION.findall(answer["text"])]
    assert cited and all(1 <= n <= len(hits) for n in cited)
    for sentence in answer["sentences"]:
        assert sentence["citations"] and not sentence["unsupported"]
        assert sentence["text"] in answer["text"]
    for citation in answer["citations"]:  # [n] is hits[n-1]
        assert hits[citation["number"] - 1]["chunk_id"] == citation["chunk_id"]
    stocktake = next(s for s in answer["sentences"] if STOCKTAKE in s["text"])
    assert STOCKTAKE in hits[stocktake["citations"][0] - 1]["text"]


def test_ask_in_english_over_chinese_articles(session):
    data = session.data("ask", question="What did China and the US promise at COP28?")
    assert data["found"] is True
    assert CITATION.search(data["answer"]["text"])
    assert any("COP28" in hit["text"] for hit in data["hits"])


def test_filters_and_modes_reach_the_archive(session):
    keyword = session.data("search", question="全球盘点", mode="keyword", source="rfi")
    assert keyword["mode"] == "keyword" and keyword["filters"]["source"] == "rfi"
    assert keyword["hits"] and all("rfi" in hit["source"] for hit in keyword["hits"])
    later = session.data("search", question=QUESTION, since="2030-01-01")
    assert later["hits"] == [] and later["found"] is False and later["notice"]
    assert later["filters"]["since"].startswith("2030-01-01")
    window = session.data("search", question=QUESTION, since="2023-11-15", until="2023-11-15")
    assert window["hits"]
    assert all(hit["published"].startswith("2023-11-15") for hit in window["hits"])


def test_time_words_become_the_date_window(session):
    data = session.data("search", question="上周中美气候谈判谈了什么", as_of="2023-11-20")
    assert data["time_window"] == {
        "start": "2023-11-13",
        "end": "2023-11-19",
        "expression": "上周",
        "outside": False,
    }
    assert data["hits"]
    assert all("2023-11-13" <= hit["published"][:10] <= "2023-11-19" for hit in data["hits"])


def test_per_source_keeps_one_outlet_from_filling_the_list(session):
    unlimited = session.data("search", question=QUESTION, k=5)
    assert [hit["source"] for hit in unlimited["hits"]].count("rfi.fr") >= 3
    capped = session.data("search", question=QUESTION, k=5, per_source=1)
    assert sorted(hit["source"] for hit in capped["hits"]) == ["rfi.fr", "voachinese.com"]
    assert capped["hits"][0]["chunk_id"] == unlimited["hits"][0]["chunk_id"]


def test_timeline_lists_the_story_oldest_first(session):
    data = session.data("timeline", question="中美气候合作")
    dates = [entry["published"][:10] for entry in data["entries"]]
    assert dates == sorted(dates) and len(dates) == 5
    assert all(entry["url"] and entry["sentence"] for entry in data["entries"])


def test_get_article_returns_the_text_the_hits_point_into(session):
    hit = next(
        h for h in session.data("search", question=QUESTION)["hits"] if STOCKTAKE in h["text"]
    )
    article = session.data("get_article", article_id=hit["article_id"])
    assert article["id"] == hit["article_id"]
    assert (article["title"], article["url"], article["published"]) == (
        hit["title"],
        hit["url"],
        hit["published"],
    )
    assert article["text"][hit["start"] : hit["end"]] == hit["text"]
    passages = {p["chunk_id"]: p for p in article["passages"]}
    assert (passages[hit["chunk_id"]]["start"], passages[hit["chunk_id"]]["end"]) == (
        hit["start"],
        hit["end"],
    )
    for passage in article["passages"]:
        assert 0 <= passage["start"] < passage["end"] <= len(article["text"])


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search", {"question": QUESTION, "k": 0}, "k: Input should be greater than or equal to 1"),
        ("ask", {"question": QUESTION, "k": 51}, "k: Input should be less than or equal to 50"),
        ("search", {"question": QUESTION, "k": "ten"}, "k: Input should be a valid integer"),
        ("search", {"question": QUESTION, "mode": "x"}, "mode: Input should be 'hybrid'"),
        ("search", {"question": QUESTION, "since": "2023-13-01"}, "invalid date '2023-13-01'"),
        ("ask", {"question": QUESTION, "until": "last week"}, "use YYYY-MM-DD"),
        ("search", {"question": QUESTION, "since": "2024-01-01", "until": "2023-01-01"}, "swap"),
        ("search", {}, "question: Field required"),
        ("ask", {"question": "   "}, "the question is empty"),
        ("get_article", {"article_id": "no-such-article"}, "no article 'no-such-article'"),
        ("get_article", {"id": "x"}, "article_id: Field required"),
        ("no_such_tool", {}, "Unknown tool: no_such_tool"),
    ],
)
def test_bad_input_is_a_one_line_tool_error(session, tool, arguments, message):
    text = session.error(tool, **arguments)
    assert message in text, text


def test_errors_leave_the_server_serving_and_log_no_traceback(session, server_log):
    session.error("search", question=QUESTION, k=0)
    session.error("get_article", article_id="nope")
    assert session.data("search", question=QUESTION, k=1)["hits"]
    assert "Traceback" not in server_log.read_text(encoding="utf-8")


def test_a_missing_index_says_how_to_build_one_and_is_served_once_built(
    fresh_settings: Settings, tmp_path
):
    index = fresh_settings.index_dir
    with stdio_server(index, tmp_path / "stderr.log") as session:
        assert set(session.tools()) == {"search", "ask", "get_article", "timeline", "watch_check"}
        for tool, arguments in [
            ("search", {"question": QUESTION}),
            ("ask", {"question": QUESTION}),
            ("get_article", {"article_id": "x"}),
        ]:
            text = session.error(tool, **arguments)
            assert f"no index at {index}" in text and "rag index build" in text, text
        # the server keeps one archive, which notices the version published meanwhile
        Archive(fresh_settings).build([str(SAMPLE)])
        hits = session.data("search", question=QUESTION, k=3)["hits"]
        assert any(STOCKTAKE in hit["text"] for hit in hits)
    assert "Traceback" not in (tmp_path / "stderr.log").read_text(encoding="utf-8")


def test_search_over_streamable_http_on_loopback(sample_index, tmp_path):
    port, log = free_port(), tmp_path / "stderr.log"
    with (
        mcp_http_server(sample_index[0].index_dir, port, log),
        connected(streamable_http_client(f"http://127.0.0.1:{port}/mcp")) as session,
    ):
        assert set(session.tools()) == {"search", "ask", "get_article", "timeline", "watch_check"}
        hits = session.data("search", question=QUESTION, k=3)["hits"]
        assert any(STOCKTAKE in hit["text"] for hit in hits)
        assert "k: Input should be" in session.error("search", question=QUESTION, k=0)
        # on loopback, a page elsewhere cannot reach the server through DNS rebinding
        rebound = httpx.post(
            f"http://127.0.0.1:{port}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Host": f"attacker.example:{port}", "Accept": "application/json"},
        )
        assert rebound.status_code == 421
    stderr = log.read_text(encoding="utf-8")
    assert f"serving MCP on http://127.0.0.1:{port}/mcp" in stderr
    assert "warning: listening on" not in stderr and "Traceback" not in stderr
