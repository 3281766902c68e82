"""A follow-up rewritten by the configured LLM into a question that stands on its own
(the condense-question prompt ``rag/prompts/condense.txt``, with today's date)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from string import Template

from rag.answer.prompting import PROMPTS_DIR
from rag.config import Settings
from rag.errors import LLMError

# A rewrite longer than this is not a question but the model talking.
MAX_REWRITE_CHARS = 300


def condense_question(
    question: str, earlier: Sequence[str], settings: Settings, today: date
) -> str:
    """``question`` rewritten to stand alone given the ``earlier`` questions (oldest
    first). Raises ``LLMError`` when the endpoint fails or its reply is not a question."""
    from rag.answer.llm import ChatClient

    text = (PROMPTS_DIR / "condense.txt").read_text(encoding="utf-8")
    system, user = (part.strip() for part in text.split("[user]", 1))
    system = system.removeprefix("[system]").strip()
    history = "\n".join(f"{n}. {_one_line(q)}" for n, q in enumerate(earlier, 1))
    messages = [
        {"role": "system", "content": Template(system).safe_substitute(today=today.isoformat())},
        {
            "role": "user",
            "content": Template(user).safe_substitute(
                history=history, question=_one_line(question)
            ),
        },
    ]
    client = ChatClient.from_settings(settings)
    reply = client.stream_chat(messages).text
    rewrite = _one_line(reply.splitlines()[0] if reply.strip() else "").strip("\"'“”「」 ")
    if not rewrite or len(rewrite) > MAX_REWRITE_CHARS:
        raise LLMError(f"the LLM at {client.url} did not rewrite the question into one line")
    return rewrite


def _one_line(text: str) -> str:
    return " ".join(text.split())
