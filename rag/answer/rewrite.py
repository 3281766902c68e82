"""A question rewritten on one line by the configured LLM: a follow-up made to stand on
its own (``rag/prompts/condense.txt``, with today's date), and a question not in Chinese
put into Chinese to search a Chinese archive (``rag/prompts/translate.txt``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from string import Template

from rag.answer.prompting import PROMPTS_DIR
from rag.config import Settings
from rag.errors import LLMError
from rag.text.normalize import CJK_IDEOGRAPHS

# A rewrite longer than this is not a question but the model talking.
MAX_REWRITE_CHARS = 300
_CJK = re.compile(f"[{CJK_IDEOGRAPHS}]")


def condense_question(
    question: str, earlier: Sequence[str], settings: Settings, today: date
) -> str:
    """``question`` rewritten to stand alone given the ``earlier`` questions (oldest
    first). Raises ``LLMError`` when the endpoint fails or its reply is not a question."""
    history = "\n".join(f"{n}. {_one_line(q)}" for n, q in enumerate(earlier, 1))
    return _rewrite(
        "condense.txt",
        {"today": today.isoformat()},
        {"history": history, "question": _one_line(question)},
        settings,
        "did not rewrite the question into one line",
        lambda rewrite: True,
    )


def translate_question(question: str, settings: Settings) -> str:
    """``question`` in Simplified Chinese, names as Chinese news writes them. Raises
    ``LLMError`` when the endpoint fails or its reply is not a Chinese question."""
    return _rewrite(
        "translate.txt",
        {},
        {"question": _one_line(question)},
        settings,
        "did not put the question into Chinese on one line",
        lambda rewrite: len(_CJK.findall(rewrite)) >= 2,
    )


def _rewrite(
    prompt: str,
    system_values: Mapping[str, str],
    user_values: Mapping[str, str],
    settings: Settings,
    failure: str,
    acceptable: Callable[[str], bool],
) -> str:
    from rag.answer.llm import ChatClient

    text = (PROMPTS_DIR / prompt).read_text(encoding="utf-8")
    system, user = (part.strip() for part in text.split("[user]", 1))
    system = system.removeprefix("[system]").strip()
    messages = [
        {"role": "system", "content": Template(system).safe_substitute(system_values)},
        {"role": "user", "content": Template(user).safe_substitute(user_values)},
    ]
    client = ChatClient.from_settings(settings)
    reply = client.stream_chat(messages).text
    rewrite = _one_line(reply.splitlines()[0] if reply.strip() else "").strip("\"'“”「」 ")
    if not rewrite or len(rewrite) > MAX_REWRITE_CHARS or not acceptable(rewrite):
        raise LLMError(f"the LLM at {client.url} {failure}")
    return rewrite


def _one_line(text: str) -> str:
    return " ".join(text.split())
