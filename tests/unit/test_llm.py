"""The LLM client without a server (scripted chat-completions servers are in
integration/test_llm.py)."""

from __future__ import annotations

import pytest

from rag.answer.llm import ChatClient
from rag.errors import LLMError


def test_client_reports_a_refused_connection():
    with pytest.raises(LLMError, match="cannot reach"):
        ChatClient("http://127.0.0.1:9/v1", "m", timeout=2).stream_chat(
            [{"role": "user", "content": "x"}]
        )
