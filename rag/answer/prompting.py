"""Chat prompts for the LLM hook: retrieved passages fenced off as quoted data.

Article text is untrusted. Every passage goes inside ``<passage id="n" ...>`` tags with
``&``, ``<`` and ``>`` escaped, so no article can close its fence or open a new one, and
the template is filled in a single pass so passage text is never read as a placeholder.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from rag.errors import RagError
from rag.records import Hit
from rag.text.normalize import is_chinese

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
LANGUAGES = ("zh", "en")

_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    """A system message and a user message with ``$passages`` and ``$question`` slots."""

    name: str
    system: Template
    user: Template


def question_language(question: str) -> str:
    """``zh`` for a mostly-Chinese question, else ``en``."""
    return "zh" if is_chinese(question) else "en"


@lru_cache(maxsize=len(LANGUAGES))
def load_template(language: str) -> PromptTemplate:
    """The packaged template ``rag/prompts/answer_<language>.txt``."""
    if language not in LANGUAGES:
        raise RagError(f"no prompt template for language {language!r}; use zh or en")
    name = f"answer_{language}.txt"
    # A path next to this module, not importlib.resources: the editable install's
    # finder presents ``rag`` as a namespace and resources.files() fails on it.
    text = (PROMPTS_DIR / name).read_text(encoding="utf-8")
    return parse_template(name, text)


def parse_template(name: str, text: str) -> PromptTemplate:
    """Split a template file into its ``[system]`` and ``[user]`` parts."""
    parts = _SECTION.split(text)
    sections = dict(zip(parts[1::2], (p.strip() for p in parts[2::2]), strict=True))
    if set(sections) != {"system", "user"} or "$passages" not in sections["user"]:
        raise RagError(f"prompt template {name} needs a [system] and a [user] part with $passages")
    return PromptTemplate(name, Template(sections["system"]), Template(sections["user"]))


def _attr(value: str) -> str:
    return html.escape(" ".join(value.split()), quote=True)


def fence_passage(number: int, hit: Hit) -> str:
    """One passage as ``<passage id=.. title=.. date=.. source=..>text</passage>``."""
    article = hit.article
    date = article.published.date().isoformat() if article.published else "unknown"
    body = html.escape(hit.chunk.text, quote=False)
    return (
        f'<passage id="{number}" title="{_attr(article.title or "")}" date="{date}" '
        f'source="{_attr(article.source or "unknown")}">\n{body}\n</passage>'
    )


def render_messages(
    question: str, hits: Sequence[Hit], language: str | None = None
) -> list[dict[str, str]]:
    """System and user chat messages asking ``question`` over ``hits`` numbered 1..n."""
    template = load_template(language or question_language(question))
    passages = "\n\n".join(fence_passage(hit.rank, hit) for hit in hits)
    values = {"passages": passages, "question": html.escape(question.strip(), quote=False)}
    return [
        {"role": "system", "content": template.system.substitute(values)},
        {"role": "user", "content": template.user.substitute(values)},
    ]
