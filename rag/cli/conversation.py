"""The last conversation of the command line, so ``rag ask --continue`` can lean on it.

Only its questions and the date their time words count from are kept, in
``conversation.json`` in the user's data folder (never in an index), readable by the user
alone; at most ``MAX_QUESTIONS``, and forgotten after ``MAX_AGE``. The turns are rebuilt
from the questions by ``Archive.replay``. Nothing here logs a question.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.text import Text

from rag.config import APP_NAME
from rag.records import FollowUp
from rag.text.normalize import language_of

MAX_QUESTIONS = 8
MAX_AGE = 12 * 3600  # seconds since the last question
FILE_NAME = "conversation.json"


@dataclass(frozen=True)
class Conversation:
    questions: tuple[str, ...] = ()
    as_of: date | None = None  # the date the conversation's time words count from


def conversation_path() -> Path:
    """``conversation.json`` in the user's data folder ($XDG_DATA_HOME/rag on Linux)."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / FILE_NAME


def load_conversation(path: Path | None = None, now: float | None = None) -> Conversation:
    """The last conversation; an empty one when there is none, it is too old or unreadable."""
    path = path or conversation_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        saved = float(data["saved"])
        questions = tuple(str(q) for q in data["questions"])[-MAX_QUESTIONS:]
        as_of = date.fromisoformat(data["as_of"]) if data.get("as_of") else None
    except (OSError, ValueError, KeyError, TypeError):
        return Conversation()
    if (now if now is not None else time.time()) - saved > MAX_AGE:
        return Conversation()
    return Conversation(questions, as_of)


def save_conversation(
    conversation: Conversation, path: Path | None = None, now: float | None = None
) -> None:
    """Keep ``conversation`` (its last ``MAX_QUESTIONS``), readable by the user alone.

    A folder that cannot be written is no reason to fail the answer just given: the
    next ``--continue`` then starts a new conversation.
    """
    path = path or conversation_path()
    data = {
        "saved": now if now is not None else time.time(),
        "as_of": conversation.as_of.isoformat() if conversation.as_of else None,
        "questions": list(conversation.questions[-MAX_QUESTIONS:]),
    }
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
        os.replace(temporary, path)


def forget_conversation(path: Path | None = None) -> None:
    with contextlib.suppress(OSError):
        (path or conversation_path()).unlink()


def print_followup(console: Console, followup: FollowUp, had_turns: bool) -> None:
    """The line that shows what a follow-up was searched as (a wrong guess is then seen
    and can be asked again in full), or that it started a new topic."""
    if followup.completed:
        label = "检索：" if language_of(followup.question) == "zh" else "Searching: "
        by = " (LLM)" if followup.method == "llm" else ""
        console.print(Text(f"{label}{followup.text}{by}", style="cyan"))
    elif had_turns and followup.new_topic:
        console.print(Text("新话题 (new topic)", style="cyan"))
