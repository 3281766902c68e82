"""The HTTP API over real HTTP: uvicorn on 127.0.0.1 in a thread, httpx as the client, the
real engine behind it (the shapes run in-process over test-hash in unit/test_web_api.py)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support import web_api
from support.sample import QUESTION, SAMPLE, STOCKTAKE
from support.web_support import HOSTILE_MARKERS, HOSTILE_TITLE, write_hostile_article
from typer.testing import CliRunner

from rag.archive import Archive
from rag.cli import app as cli_app
from rag.config import Settings
from rag.index.store import CURRENT, VERSIONS
from rag.records import BuildReport
from rag.web.app import MAX_BODY_BYTES, VERSION_HEADER
from rag.web.server import is_loopback, running_server


def test_server_listens_on_loopback(base_url: str) -> None:
    assert base_url.startswith("http://127.0.0.1:")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_health_reports_live_version_and_counts(
    client: httpx.Client, sample_index: tuple[Settings, BuildReport]
) -> None:
    web_api.check_health(client, sample_index, "intfloat/multilingual-e5-small")


@pytest.mark.parametrize(
    ("route", "cli_flags"), [("/api/search", ["--no-answer"]), ("/api/ask", [])]
)
def test_search_and_ask_return_the_cli_json(
    client: httpx.Client,
    sample_index: tuple[Settings, BuildReport],
    route: str,
    cli_flags: list[str],
) -> None:
    settings = sample_index[0]
    response = client.get(route, params={"q": QUESTION, "k": 3, "source": "rfi"})
    assert response.status_code == 200
    args = ["ask", QUESTION, "--index", str(settings.index_dir), "-k", "3", "--source", "rfi"]
    cli = CliRunner().invoke(cli_app, [*args, "--json", *cli_flags])
    assert cli.exit_code == 0, cli.output
    assert response.json() == json.loads(cli.stdout)
    top = response.json()["hits"][0]
    assert STOCKTAKE in top["text"] and top["source"] == "rfi.fr"


def test_post_takes_the_same_parameters_as_get(client: httpx.Client) -> None:
    web_api.check_post_takes_the_same_parameters_as_get(client)


def test_filters_restrict_by_source_and_date(client: httpx.Client) -> None:
    web_api.check_filters_restrict_by_source_and_date(client)


def test_ask_adds_a_cited_answer_to_the_search(client: httpx.Client) -> None:
    data = client.post("/api/ask", json={"q": QUESTION}).json()
    search = client.get("/api/search", params={"q": QUESTION}).json()
    assert search["answer"] is None
    assert {k: v for k, v in data.items() if k != "answer"} == {
        k: v for k, v in search.items() if k != "answer"
    }
    answer = data["answer"]
    assert answer["found"] and STOCKTAKE in answer["text"]
    chunk_ids = {h["chunk_id"] for h in data["hits"]}
    assert answer["citations"] and all(c["chunk_id"] in chunk_ids for c in answer["citations"])


def test_article_has_metadata_and_passage_offsets(client: httpx.Client) -> None:
    hit = client.get("/api/search", params={"q": QUESTION, "k": 1}).json()["hits"][0]
    response = client.get(f"/api/articles/{hit['article_id']}")
    assert response.status_code == 200
    article = response.json()
    assert article["id"] == hit["article_id"] and article["title"] == hit["title"]
    assert article["url"].startswith("https://www.rfi.fr/")
    text = article["text"]
    assert text[hit["start"] : hit["end"]] == hit["text"]
    passages = article["passages"]
    assert [p["ordinal"] for p in passages] == list(range(len(passages)))
    assert hit["chunk_id"] in {p["chunk_id"] for p in passages}
    assert all(0 <= p["start"] < p["end"] <= len(text) for p in passages)


@pytest.mark.parametrize(("params", "status", "words"), web_api.BAD_PARAMETERS)
def test_bad_parameters_get_a_json_4xx(
    client: httpx.Client, params: dict[str, object], status: int, words: str
) -> None:
    web_api.check_bad_parameters(client, params, status, words)


def test_bodies_are_bounded_and_must_be_json(client: httpx.Client) -> None:
    web_api.check_a_big_body_is_a_413(client)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts streamed bytes
        yield b'{"q": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    streamed = client.post(
        "/api/search", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    web_api.check_a_broken_body_is_a_422(client)


def test_unknown_things_are_json_404s(client: httpx.Client) -> None:
    web_api.check_unknown_things_are_json_404s(client)


def test_missing_index_is_a_503_that_says_how_to_build_one(tmp_path: Path) -> None:
    with running_server(Settings(index_dir=tmp_path / "none")) as url:
        web_api.check_missing_index_is_a_503(lambda route: httpx.get(url + route, timeout=30))


def test_openapi_schema_describes_the_routes(client: httpx.Client) -> None:
    web_api.check_openapi_schema_describes_the_routes(client)


def test_page_and_assets_are_served_locally_with_a_strict_policy(client: httpx.Client) -> None:
    web_api.check_page_and_assets_are_local_with_a_strict_policy(client)


def test_concurrent_requests_share_one_reader(client: httpx.Client, base_url: str) -> None:
    def ask(i: int) -> tuple[int, list[str]]:
        mode = ("hybrid", "dense", "keyword")[i % 3]
        r = httpx.get(f"{base_url}/api/search", params={"q": QUESTION, "mode": mode}, timeout=60)
        return r.status_code, [h["chunk_id"] for h in r.json()["hits"]]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, range(24)))
    assert {status for status, _ in results} == {200}
    by_mode = [results[i][1] for i in range(3)]
    assert all(results[i][1] == by_mode[i % 3] for i in range(24))  # same answer every time


def test_hostile_article_comes_back_as_data(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_hostile_article(corpus)
    settings = Settings(index_dir=tmp_path / "index")
    Archive(settings).build([str(corpus)])
    with running_server(settings) as url:
        hits = httpx.get(f"{url}/api/search", params={"q": "全球盘点"}, timeout=60).json()["hits"]
        assert hits[0]["title"] == HOSTILE_TITLE
        article = httpx.get(f"{url}/api/articles/{hits[0]['article_id']}", timeout=30)
    assert article.headers["content-type"] == "application/json"
    assert all(marker in article.json()["text"] for marker in HOSTILE_MARKERS)


@pytest.mark.slow
def test_requests_during_index_updates_see_one_version(tmp_path: Path) -> None:
    """Clients hammer the API while the index is rebuilt twice; every response must come
    from exactly one version (its hits are that version's passages) and none may fail."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE, corpus)
    settings = Settings(index_dir=tmp_path / "index")
    writer = Archive(settings)
    writer.build([str(corpus)])
    texts: dict[str, dict[str, str]] = {}

    def record_live_version() -> None:
        import sqlite3

        version = (settings.index_dir / CURRENT).read_text().strip()
        db = settings.index_dir / VERSIONS / version / "meta.sqlite"
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        texts[version] = dict(conn.execute("SELECT id, text FROM articles"))
        conn.close()

    record_live_version()
    done = threading.Event()
    seen: list[tuple[str, str, dict[str, object]]] = []
    failures: list[str] = []

    def updater() -> None:
        try:
            removed = next(corpus.glob("004_*"))
            kept = removed.read_bytes()
            removed.unlink()
            write_hostile_article(corpus)  # one article out, one new one in
            writer.build([str(corpus)], lock_wait=30)
            record_live_version()
            (corpus / "hostile.txt").unlink()
            removed.write_bytes(kept)
            writer.build([str(corpus)], lock_wait=30)
            record_live_version()
        finally:
            done.set()

    def client_loop(n: int, url: str) -> None:
        queries = [QUESTION, "全球盘点", "气候合作", "新闻自由"]
        with httpx.Client(base_url=url, timeout=60) as c:
            i = 0
            while not done.is_set():
                i += 1
                route = "/api/health" if i % 5 == 0 else "/api/search"
                r = c.get(route, params={"q": queries[(n + i) % 4], "k": 8, "per_article": 0})
                if r.status_code != 200:
                    failures.append(f"{route} {r.status_code} {r.text[:200]}")
                    continue
                seen.append((route, r.headers[VERSION_HEADER], r.json()))

    with running_server(settings) as url:
        clients = [threading.Thread(target=client_loop, args=(n, url)) for n in range(4)]
        for t in clients:
            t.start()
        time.sleep(0.5)
        updater()
        for t in clients:
            t.join()

    assert failures == []
    assert len(texts) == 3 and len(seen) > 20
    versions_seen = {version for _, version, _ in seen}
    assert len(versions_seen) >= 2, "no request overlapped an update"
    assert versions_seen <= set(texts)
    for route, version, data in seen:
        articles = texts[version]
        if route == "/api/health":
            assert data["version"] == version and data["articles"] == len(articles)
            continue
        for hit in data["hits"]:  # type: ignore[attr-defined]
            assert hit["article_id"] in articles, (version, hit["title"])
            assert articles[hit["article_id"]][hit["start"] : hit["end"]] == hit["text"]
