"""The HTTP API's follow-up questions with test-hash: previous questions in, the
completed question out (follow_up), for GET and POST; nothing changes without them. The
page's thread is not built yet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from rag.records import BuildReport
from rag.web.app import MAX_PREVIOUS, create_app

COP28 = "中美在COP28上承诺了什么"


@pytest.fixture(scope="module")
def client(hash_index: tuple[Settings, BuildReport]) -> Iterator[TestClient]:
    with TestClient(create_app(hash_index[0]), base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize("route", ["/api/ask", "/api/search"])
def test_previous_questions_complete_a_follow_up(client: TestClient, route: str) -> None:
    got = client.get(route, params={"q": "那甲烷呢？", "previous": [COP28], "k": 2})
    assert got.status_code == 200, got.text
    data = got.json()
    assert data["follow_up"]["searched"] == "中美 COP28 承诺 甲烷"
    assert data["follow_up"]["completed"] and not data["follow_up"]["new_topic"]
    assert data["query"] == "中美 COP28 承诺 甲烷"
    posted = client.post(route, json={"q": "那甲烷呢？", "previous": [COP28], "k": 2})
    assert posted.json()["follow_up"] == data["follow_up"]


def test_a_three_turn_thread_and_a_new_topic(client: TestClient) -> None:
    third = client.post(
        "/api/ask", json={"q": "他们要成立什么工作组？", "previous": [COP28, "那甲烷呢？"]}
    ).json()["follow_up"]
    assert {"中美", "COP28", "甲烷"} <= set(third["carried"])
    fresh = client.post(
        "/api/ask", json={"q": "深圳最大的城中村在哪里？", "previous": [COP28]}
    ).json()["follow_up"]
    assert fresh["new_topic"] and fresh["searched"] == "深圳最大的城中村在哪里？"


def test_without_previous_questions_nothing_changes(client: TestClient) -> None:
    data = client.get("/api/ask", params={"q": "那甲烷呢？"}).json()
    assert "follow_up" not in data and data["query"] == "那甲烷呢？"


def test_previous_questions_are_bounded(client: TestClient) -> None:
    many = client.post(
        "/api/ask", json={"q": "那甲烷呢？", "previous": ["问"] * (MAX_PREVIOUS + 1)}
    )
    assert many.status_code == 422 and "error" in many.json()
    empty = client.post("/api/ask", json={"q": "那甲烷呢？", "previous": [""]})
    assert empty.status_code == 422
