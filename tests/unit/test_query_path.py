"""A question is understood once: after the query stage hands its ``Query`` to ranking,
nothing works the question's words out again (its language, time words, recency word)
and nothing climbs back into the ``Archive``. Checked by tracing the calls of a real
search over an index built with the ``test-hash`` embedder."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from rag import Archive, SearchOptions, Settings

ROOT = Path(__file__).resolve().parents[2]
# What the query stage alone may do with a question.
UNDERSTANDING = {
    ("rag.search.query", None),
    ("rag.search.timeexpr", None),
    ("rag.search.recency", "recency_word"),
    ("rag.text.normalize", "is_chinese"),
    ("rag.text.normalize", "language_of"),
    ("rag.archive", None),
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    index = tmp_path_factory.mktemp("query-path") / "index"
    with Archive(Settings(index_dir=index, embedder="test-hash")) as built:
        built.build([str(ROOT / "corpus" / "sample")])
        built.search("预热")  # open the reader before tracing
        yield built


def traced_calls(archive: Archive, question: str) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        module = frame.f_globals.get("__name__", "")
        if event == "call" and module.startswith("rag"):
            calls.append((module, frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        archive.search(question, SearchOptions(as_of=date(2023, 11, 20)))
    finally:
        sys.setprofile(None)
    return calls


def understands(call: tuple[str, str]) -> bool:
    module, function = call
    if function.startswith("__"):  # a record's generated __init__ (a new SearchPlan)
        return False
    return (module, None) in UNDERSTANDING or (module, function) in UNDERSTANDING


@pytest.mark.parametrize(
    "question",
    [
        "中美在COP28上承诺了什么",  # plain
        "上周中美气候谈判谈了什么",  # a time window
        "中美气候合作的最新进展",  # a recency word
        "What did China and the US promise at COP28?",  # another language
    ],
)
def test_the_question_goes_down_once(archive: Archive, question: str) -> None:
    calls = traced_calls(archive, question)
    ranking = calls.index(("rag.search.retrieve", "search"))
    assert ("rag.search.query", "understand") in calls[:ranking]
    after = [call for call in calls[ranking:] if understands(call)]
    assert after == [], f"worked out again after ranking began: {after}"


def test_the_result_carries_what_was_understood(archive: Archive) -> None:
    result = archive.search("上周中美气候谈判谈了什么", SearchOptions(as_of=date(2023, 11, 20)))
    query = result.understood
    assert query is not None
    assert query.language == "zh" and query.text == "中美气候谈判谈了什么"
    assert query.time_window is not None and query.time_window.expression == "上周"
    assert (query.time_window.start, query.time_window.end) == (
        date(2023, 11, 13),
        date(2023, 11, 19),
    )
    assert result.time_window == query.time_window
    latest = archive.search("中美气候合作的最新进展").understood
    assert latest is not None and latest.recency == "最新" and latest.time_window is None
