"""rag chat in a real terminal (a pseudo-terminal: the prompt, readline, what a user
sees) over the sample index with e5: a question, a follow-up completed and answered
with cited passages, /new. Piped conversations and rag ask --continue with test-hash are
in tests/unit/test_chat.py."""

from __future__ import annotations

import codecs
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

from support.terminal import RAG

from rag.config import Settings
from rag.records import BuildReport

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\|\x1b[=>]")


class Terminal:
    """A process on a pseudo-terminal: type lines, read the screen's text until a mark."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.leader, follower = pty.openpty()
        self.process = subprocess.Popen(
            [RAG, *args], stdin=follower, stdout=follower, stderr=follower, env=env
        )
        os.close(follower)
        self.seen = ""
        # a character's bytes can be split between two reads
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read_until(self, mark: str, timeout: float = 120) -> str:
        """The text shown from now until ``mark`` appears (escapes and \\r removed)."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        while mark not in self.seen[start:]:
            left = deadline - time.monotonic()
            assert left > 0, f"no {mark!r} on the screen; it shows:\n{self.seen[start:]}"
            ready, _, _ = select.select([self.leader], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.leader, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                self.seen += self.decoder.decode(chunk).replace("\r", "")
                self.seen = _ESCAPES.sub("", self.seen)
        return self.seen[start:]

    def type(self, line: str) -> None:
        os.write(self.leader, line.encode() + b"\n")

    def close(self) -> int:
        os.write(self.leader, b"\x04")  # Ctrl-D
        code = self.process.wait(timeout=60)
        os.close(self.leader)
        return code


def test_chat_in_a_terminal_completes_a_follow_up_and_cites_its_passages(
    sample_index: tuple[Settings, BuildReport], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    # a UTF-8 terminal, as a user typing Chinese has: readline in the C locale edits
    # bytes, not characters
    env.update(RAG_CONFIG="", XDG_DATA_HOME=str(tmp_path), TERM="xterm", LC_ALL="C.UTF-8")
    terminal = Terminal("chat", "--index", str(sample_index[0].index_dir), "-k", "3", env=env)
    try:
        terminal.read_until("问> ")
        terminal.type("中美格拉斯哥联合宣言承诺了什么？")
        first = terminal.read_until("问> ")
        assert "Passages:" in first and "格拉斯哥" in first and "[1]" in first
        assert "检索：" not in first  # the first question is searched as asked
        terminal.type("那甲烷呢？")
        second = terminal.read_until("问> ")
        assert "检索：格拉斯哥 联合宣言 承诺 甲烷" in second
        answer, passages = second.split("Passages:", 1)
        assert "甲烷" in answer and "[1]" in answer  # a cited answer about methane
        assert "中美发表格拉斯哥联合宣言" in passages  # the Glasgow article among them
        terminal.type("/new")
        assert "新话题" in terminal.read_until("问> ")
        terminal.type("那甲烷呢？")
        alone = terminal.read_until("问> ")
        assert "检索：" not in alone  # after /new nothing is carried
    finally:
        code = terminal.close()
    assert code == 0
