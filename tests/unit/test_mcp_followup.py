"""The MCP tools' previous questions with test-hash, called in-process (the tools over
stdio and HTTP with e5 are in tests/integration/test_mcp.py): a follow-up completed from
them, the result still the declared output schema."""

from __future__ import annotations

from typing import get_args, get_type_hints

import pytest

from rag.archive import Archive
from rag.mcp.tools import MAX_PREVIOUS, ArchiveTools
from rag.schemas import SearchResponse

COP28 = "中美在COP28上承诺了什么"


@pytest.mark.parametrize("tool", ["search", "ask"])
def test_previous_questions_complete_a_follow_up(hash_archive: Archive, tool: str) -> None:
    call = getattr(ArchiveTools(hash_archive), tool)
    result = call("那甲烷呢？", k=2, previous=[COP28])
    data = result.structured_content
    SearchResponse.model_validate(data)  # the output schema the tool declares
    assert data["follow_up"]["searched"] == "中美 COP28 承诺 甲烷"
    assert data["query"] == "中美 COP28 承诺 甲烷"
    assert "'中美 COP28 承诺 甲烷'" in result.content[0].text  # the model reads what was searched
    alone = call("那甲烷呢？", k=2).structured_content
    assert "follow_up" not in alone and alone["query"] == "那甲烷呢？"


def test_the_previous_argument_is_optional_and_bounded() -> None:
    hints = get_type_hints(ArchiveTools.ask, include_extras=True)
    kind, field = get_args(hints["previous"])
    assert type(None) in get_args(kind)
    assert any(getattr(m, "max_length", None) == MAX_PREVIOUS for m in field.metadata)
