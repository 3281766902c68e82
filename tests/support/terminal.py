"""Running ``rag`` in a terminal of a given width (a pseudo-terminal), as a user sees it."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from rich.cells import cell_len

RAG = Path(sys.executable).with_name("rag")  # the console script users run
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\")


def on_a_terminal(*args: str, columns: int = 80, env: dict[str, str] | None = None) -> str:
    """What ``rag *args`` shows on a terminal ``columns`` wide, without its colours and
    links; the command must succeed. No settings file is read; ``env`` adds variables."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    environment.update(RAG_CONFIG="", **(env or {}))
    process = subprocess.Popen(
        [RAG, *args], stdout=follower, stderr=subprocess.PIPE, env=environment
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the command exited and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert process.wait(timeout=300) == 0, stderr
    return _ESCAPES.sub("", b"".join(chunks).decode()).replace("\r", "")


def widest_line(text: str) -> int:
    """The widest line of ``text`` in terminal cells (a CJK character takes two)."""
    return max((cell_len(line) for line in text.splitlines()), default=0)
