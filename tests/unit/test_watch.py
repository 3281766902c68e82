"""Watched questions, plumbing over a test-hash index: the commands, what counts as new
(added, changed in place, removed, rebuilt), the check lock and a check killed mid-way.
Every passage counts as relevant here (test-hash scores mean nothing: the threshold is
0); tests/integration/test_watch.py checks relevance with e5 over a real feed pull."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.cli import one_line_error
from support.watches import archive_folder, seed_article, start_check
from typer.testing import CliRunner, Result

from rag import Archive
from rag.cli import app
from rag.config import load_settings

QUESTION = "中美气候合作"


@pytest.fixture()
def news(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(index, articles folder): the sample indexed with test-hash, one watch on it."""
    monkeypatch.setenv("RAG_MIN_SCORE_ZH", "0")
    folder = archive_folder(tmp_path)
    index = tmp_path / "index"
    Archive(load_settings(index_dir=index, embedder="test-hash")).build([str(folder)])
    result = rag("watch", "add", QUESTION, "--name", "climate", "--index", str(index))
    assert result.exit_code == 0, result.output
    return index, folder


def rag(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def check(index: Path, *extra: str) -> dict:
    result = rag("watch", "check", "--index", str(index), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def titles(report: dict) -> list[str]:
    return [item["title"] for w in report["watches"] for item in w["items"]]


def write(folder: Path, name: str, title: str, day: int, body: str) -> Path:
    path = folder / name
    url = f"https://news.example.org/{name}.html"
    published = datetime(2024, 3, day, 8, tzinfo=UTC)
    path.write_text(seed_article(title, url, published, body), encoding="utf-8")
    return path


def update(index: Path) -> None:
    Archive(load_settings(index_dir=index)).update()


def test_a_new_watch_reports_nothing_until_an_article_arrives(news):
    index, folder = news
    assert titles(check(index)) == []
    write(folder, "a.txt", "中美气候会谈重启", 1, "中美两国气候特使在北京会谈，同意加强气候合作。")
    write(folder, "b.txt", "中美气候工作组成立", 2, "中美宣布成立气候合作工作组，讨论甲烷减排。")
    update(index)
    report = check(index)
    assert titles(report) == ["中美气候工作组成立", "中美气候会谈重启"]  # newest first
    item = report["watches"][0]["items"][0]
    assert item["url"] == "https://news.example.org/b.txt.html"
    assert item["outlet"] == "news.example.org"
    assert item["published"].startswith("2024-03-02")
    assert item["sentence"] and item["sentence"] in item["passage"]
    assert report["new"] == 2
    assert titles(check(index)) == []


def test_exit_code_only_when_asked(news):
    index, folder = news
    write(folder, "a.txt", "中美气候会谈重启", 1, "中美两国气候特使在北京会谈，同意加强气候合作。")
    update(index)
    found = rag("watch", "check", "--index", str(index), "--exit-code")
    assert found.exit_code == 3, found.output
    assert "中美气候会谈重启" in found.stdout
    assert "[1] 2024-03-01  news.example.org" in found.stdout
    quiet = rag("watch", "check", "--index", str(index), "--exit-code")
    assert quiet.exit_code == 0 and "nothing new" in quiet.stdout


def test_changed_in_place_is_new_again_only_when_its_text_changed(news):
    index, folder = news
    path = write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    update(index)
    assert titles(check(index)) == ["中美气候会谈"]
    # a new title over the same text, and a file touched: not news
    write(folder, "a.txt", "中美气候会谈（更新）", 1, "中美两国气候特使在北京会谈。")
    os.utime(path, (1e9, 1e9))
    update(index)
    assert titles(check(index)) == []
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈，并发表联合声明。")
    update(index)
    assert titles(check(index)) == ["中美气候会谈"]


def test_a_removed_article_is_not_reported(news):
    index, folder = news
    gone = write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    write(folder, "b.txt", "中美气候声明", 2, "中美发表气候合作联合声明。")
    update(index)
    gone.unlink()
    update(index)
    assert titles(check(index)) == ["中美气候声明"]


def test_watches_survive_a_rebuild_and_it_brings_nothing_new(news):
    index, folder = news
    Archive(load_settings(index_dir=index, embedder="test-hash")).build([str(folder)])
    listed = json.loads(rag("watch", "list", "--index", str(index), "--json").stdout)
    assert [w["name"] for w in listed["watches"]] == ["climate"]
    assert titles(check(index)) == []


def test_since_reports_what_was_published_from_that_day_at_the_first_check(news):
    index, _ = news
    added = rag(
        "watch", "add", QUESTION, "--name", "late", "--since", "2023-11-10", "--index", str(index)
    )
    assert added.exit_code == 0, added.output
    report = check(index, "late")
    days = [i["published"][:10] for i in report["watches"][0]["items"]]
    assert days and all(d >= "2023-11-10" for d in days)
    assert days == sorted(days, reverse=True)
    assert check(index, "late")["new"] == 0


def test_show_and_list_tell_what_was_reported(news):
    index, folder = news
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    update(index)
    check(index)
    shown = json.loads(rag("watch", "show", "climate", "--index", str(index), "--json").stdout)
    assert [i["title"] for i in shown["items"]] == ["中美气候会谈"]
    listed = rag("watch", "list", "--index", str(index))
    assert "climate" in listed.stdout and "1 reported" in listed.stdout


def test_expected_failures_are_one_line(news):
    index, _ = news
    taken = rag("watch", "add", "别的问题", "--name", "climate", "--index", str(index))
    assert taken.exit_code == 1 and "exists" in one_line_error(taken)
    missing = rag("watch", "remove", "nope", "--index", str(index))
    assert missing.exit_code == 1 and "no watch named" in one_line_error(missing)
    bad = rag("watch", "add", "问题", "--name", "a/b", "--index", str(index))
    assert bad.exit_code == 1 and "invalid watch name" in one_line_error(bad)
    empty = rag("watch", "add", " ", "--index", str(index))
    assert empty.exit_code == 2
    removed = rag("watch", "remove", "climate", "--index", str(index))
    assert removed.exit_code == 0
    assert check(index)["watches"] == []


def test_index_update_with_watch_prints_the_digest(news):
    index, folder = news
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    result = rag("index", "update", "--index", str(index), "--watch", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["added"] == 1 and titles(data["watch"]) == ["中美气候会谈"]
    assert titles(check(index)) == []


def test_index_update_exits_3_on_news_only_with_exit_code(news):
    index, folder = news
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    found = rag("index", "update", "--index", str(index), "--watch", "--exit-code")
    assert found.exit_code == 3, found.output
    assert "中美气候会谈" in found.stdout and "1 new story" in found.stdout
    quiet = rag("index", "update", "--index", str(index), "--watch", "--exit-code", "--json")
    assert quiet.exit_code == 0, quiet.output
    assert json.loads(quiet.stdout)["watch"]["new"] == 0
    write(folder, "b.txt", "中美气候声明", 2, "中美发表气候合作联合声明。")
    unasked = rag("index", "update", "--index", str(index), "--watch")
    assert unasked.exit_code == 0 and "中美气候声明" in unasked.stdout  # cron stays quiet


def test_exit_code_on_an_update_needs_the_checks(news, monkeypatch):
    index, folder = news
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    for command in (("index", "update"), ("feed", "pull")):
        refused = rag(*command, "--index", str(index), "--exit-code")
        assert refused.exit_code == 2, refused.output
        assert "add --watch" in one_line_error(refused)
    assert titles(check(index)) == []  # refused before any work: nothing was indexed
    monkeypatch.setenv("RAG_WATCH_AFTER_UPDATE", "true")  # the setting stands for --watch
    found = rag("index", "update", "--index", str(index), "--exit-code")
    assert found.exit_code == 3, found.output


def test_a_check_killed_before_recording_reports_the_same_items_next_time(news):
    index, folder = news
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    write(folder, "b.txt", "中美气候声明", 2, "中美发表气候合作联合声明。")
    update(index)
    child = start_check(index, "pause")
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "PAUSED", child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert titles(check(index)) == ["中美气候声明", "中美气候会谈"]
    assert titles(check(index)) == []


def test_two_checks_at_once_never_both_report_an_item(news):
    index, folder = news
    for n in range(1, 6):
        write(folder, f"{n}.txt", f"中美气候新闻{n}", n, f"中美气候合作的第{n}条新闻。")
    update(index)
    children = [start_check(index, "run") for _ in range(3)]
    reported: list[str] = []
    for child in children:
        out, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors
        reported += out.split()
    assert sorted(reported) == sorted(f"中美气候新闻{n}" for n in range(1, 6))


def test_the_atom_feed_is_valid_and_carries_what_the_check_reported(news):
    from fastapi.testclient import TestClient
    from support.atom import check_atom

    from rag.web.app import create_app

    index, folder = news
    title = "中美气候 <script>alert(1)</script> & 合作"
    write(folder, "a.txt", title, 1, "中美两国气候特使在北京会谈，同意加强气候合作。")
    update(index)
    reported = check(index)["watches"][0]["items"]
    with TestClient(create_app(load_settings(index_dir=index)), base_url="http://127.0.0.1") as web:
        feed = web.get("/watch/climate.atom")
        missing = web.get("/watch/nope.atom")
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("application/atom+xml")
    parsed = check_atom(feed.content)
    assert [e.title for e in parsed.entries] == [title]
    entry = parsed.entries[0]
    assert entry.link == reported[0]["url"]
    assert reported[0]["sentence"] == entry.summary
    assert reported[0]["url"] in entry.content[0].value  # the citation
    assert entry.published.startswith("2024-03-01")
    assert missing.status_code == 404 and "no watch named" in missing.json()["error"]


def test_the_api_lists_each_watch_with_what_it_reported_and_marks_nothing_shown(news):
    from fastapi.testclient import TestClient
    from support.openapi import check_answer

    from rag.web.app import create_app

    index, folder = news
    rag("watch", "add", "甲烷减排", "--name", "甲烷", "--index", str(index))
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    write(folder, "b.txt", "中美气候声明", 2, "中美发表气候合作联合声明。")
    update(index)
    with TestClient(create_app(load_settings(index_dir=index)), base_url="http://127.0.0.1") as web:
        document = web.get("/openapi.json").json()
        before = web.get("/api/watches")
        check_answer(document, "get", "/api/watches", before)
        assert [w["items"] for w in before.json()["watches"]] == [[], []]
        reported = check(index, "climate")["watches"][0]["items"]
        after = web.get("/api/watches", params={"limit": 1})
        check_answer(document, "get", "/api/watches", after)
        listed = {w["watch"]["name"]: w for w in after.json()["watches"]}
        feed = web.get(listed["climate"]["feed"])
    assert list(listed) == ["climate", "甲烷"]  # oldest first
    climate = listed["climate"]
    assert climate["watch"]["last_checked"] and climate["watch"]["reported"] == 2
    assert climate["items"] == reported[:1]  # the newest, as the check reported it
    assert listed["甲烷"]["watch"]["last_checked"] is None and listed["甲烷"]["items"] == []
    assert listed["甲烷"]["feed"] == "/watch/%E7%94%B2%E7%83%B7.atom"
    assert feed.status_code == 200 and "中美气候声明" in feed.text
    # reading the page's list took nothing from the watches: their checks still report
    assert titles(check(index, "甲烷")) == ["中美气候声明", "中美气候会谈"]


def test_an_unreadable_watch_store_is_a_503_in_the_error_model(news):
    from fastapi.testclient import TestClient

    from rag.web.app import create_app

    index, _ = news
    (index / "watches.sqlite").write_bytes(b"not a database" * 100)
    with TestClient(create_app(load_settings(index_dir=index)), base_url="http://127.0.0.1") as web:
        answer = web.get("/api/watches")
    assert answer.status_code == 503, answer.text
    assert "watch store" in answer.json()["error"] and "not a database" in answer.json()["error"]


def test_an_empty_watch_is_a_valid_feed(news):
    from support.atom import check_atom

    from rag.web.watch_routes import atom_feed

    index, _ = news
    digest = Archive(load_settings(index_dir=index)).watches().latest("climate")
    assert (
        check_atom(atom_feed(digest, str(index), "http://127.0.0.1/watch/climate.atom")).entries
        == []
    )


def test_the_atom_check_refuses_a_feed_without_its_id():
    from support.atom import check_atom

    broken = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<updated>2024-01-01T00:00:00Z</updated><author><name>a</name></author></feed>"
    )
    with pytest.raises(AssertionError):
        check_atom(broken)


def test_the_mcp_tool_checks_the_watches_and_its_result_matches_its_schema(news):
    import anyio
    import jsonschema
    from mcp import Client

    from rag.mcp.server import create_server

    index, folder = news
    write(folder, "a.txt", "中美气候会谈", 1, "中美两国气候特使在北京会谈。")
    update(index)

    async def calls() -> tuple[object, object, object]:
        server = create_server(Archive(load_settings(index_dir=index)))
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            first = await client.call_tool("watch_check", {})
            second = await client.call_tool("watch_check", {"name": "climate"})
            return tools["watch_check"], first, second

    tool, first, second = anyio.run(calls)
    assert tool.annotations is not None and not tool.annotations.read_only_hint
    assert not first.is_error and first.structured_content is not None
    jsonschema.validate(first.structured_content, tool.output_schema)
    assert titles(first.structured_content) == ["中美气候会谈"]
    text = first.content[0].text
    assert "中美气候会谈" in text and "https://news.example.org/a.txt.html" in text
    assert second.structured_content["new"] == 0
