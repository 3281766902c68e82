"""The HTTP API against its OpenAPI document in-process (FastAPI's TestClient) over the
test-hash sample index: the document's rules, every documented status drawn and checked,
the error mapping, the docs page. The same over real HTTP on the real engine, with
schemathesis and a browser, is in integration/test_openapi.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
from fastapi.testclient import TestClient
from support import openapi

from rag.config import Settings
from rag.errors import (
    EmbedderMismatchError,
    IndexCorruptError,
    IndexMissingError,
    IndexWriteError,
    LLMError,
    RagError,
)
from rag.index.store import CURRENT, VERSIONS
from rag.records import BuildReport
from rag.web.app import create_app, error_status

LOOPBACK = "http://127.0.0.1"  # the app answers to the loopback names only


@pytest.fixture(scope="module")
def client(hash_index: tuple[Settings, BuildReport]) -> Iterator[TestClient]:
    with TestClient(create_app(hash_index[0]), base_url=LOOPBACK) as c:
        yield c


def test_the_document_follows_its_rules_plumbing(client: TestClient) -> None:
    openapi.check_the_document(client.get("/openapi.json").json())


def test_every_documented_answer_is_drawn_and_matches_the_document_plumbing(
    client: TestClient, tmp_path: Path
) -> None:
    def without_index(walk: openapi.Walk) -> None:
        app = create_app(Settings(index_dir=tmp_path / "none"))
        with TestClient(app, base_url=LOOPBACK) as empty:
            openapi.draw_the_503s(empty, walk)

    openapi.walk_every_documented_answer(client, without_index)


def test_the_checks_fail_on_an_answer_the_document_does_not_describe_plumbing(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    answer = client.get("/api/health")
    openapi.check_answer(document, "get", "/api/health", answer)
    for wrong in (
        {**answer.json(), "sources": 2},  # the old count under the outlets' name
        {k: v for k, v in answer.json().items() if k != "source_files"},
        {**answer.json(), "detail": "extra"},
    ):
        forged = httpx.Response(200, json=wrong, headers=dict(answer.headers))
        with pytest.raises(jsonschema.ValidationError):
            openapi.check_answer(document, "get", "/api/health", forged)
    undocumented = httpx.Response(404, json={"error": "x"}, headers=dict(answer.headers))
    with pytest.raises(AssertionError, match="not documented"):
        openapi.check_answer(document, "get", "/api/health", undocumented)


class DiskFullError(IndexWriteError):
    """A subclass the server has never heard of, as a storage layer might add."""


class DamagedPageError(IndexCorruptError):
    pass


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (IndexMissingError("none"), 503),
        (IndexCorruptError("damaged"), 503),
        (DamagedPageError("a damaged page"), 503),
        (DiskFullError("disk full"), 503),
        (EmbedderMismatchError("other model"), 503),
        (LLMError("timeout"), 502),
        (RagError("invalid date 'x'; use YYYY-MM-DD"), 400),
    ],
)
def test_errors_map_to_statuses_by_their_base_class_plumbing(error: RagError, status: int) -> None:
    assert error_status(error) == status


@pytest.mark.parametrize("damage", ["meta.sqlite", "manifest.json", "dense.faiss", "missing"])
def test_a_damaged_index_is_a_503_in_the_error_model_plumbing(
    hash_index: tuple[Settings, BuildReport], tmp_path: Path, damage: str
) -> None:
    index = tmp_path / "index"
    shutil.copytree(hash_index[0].index_dir, index)
    version = index / VERSIONS / (index / CURRENT).read_text().strip()
    if damage == "missing":
        shutil.rmtree(version)
    else:
        (version / damage).write_bytes(b"not what it was")
    settings = Settings(index_dir=index, embedder=hash_index[0].embedder)

    def without_index(walk: openapi.Walk) -> None:
        with TestClient(
            create_app(settings), base_url=LOOPBACK, raise_server_exceptions=False
        ) as c:
            openapi.draw_the_503s(c, walk)

    document = create_app(settings).openapi()
    walk = openapi.Walk(document)
    without_index(walk)
    assert {status for _, _, status in walk.drawn} == {"503"}
    assert len(walk.drawn) == len(openapi.OPERATION_IDS)


def test_the_docs_page_is_served_from_here_plumbing(client: TestClient) -> None:
    openapi.check_the_docs_page(client)
