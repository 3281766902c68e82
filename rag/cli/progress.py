"""Progress for the CLI on stderr: rich bars on a terminal, plain lines off one."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

# Off a terminal (a cron job's log) progress is plain lines, "embedding passages:
# 1024/30000". A line is written when both LINE_SECONDS have passed and LINE_SHARE of the
# stage has been done since the last one, whichever comes later: never more than two lines
# a minute however fast a stage runs, never more than ~100 lines a stage however long it
# runs (a ten-hour stage writes one every six minutes). A run's first LINE_SECONDS write
# nothing, stage starts included, so a build over in seconds leaves only its warnings in
# the log; a stage starting after that is announced at once.
LINE_SECONDS = 30.0
LINE_SHARE = 0.01


class RichProgress:
    """Implements ``rag.progress.Progress`` on stderr: a rich progress bar on a terminal,
    plain progress lines (see ``LINE_SECONDS``) when stderr is not one."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._clock = clock
        self._began = clock()
        self._last_line = self._began  # when the last plain line was written
        self._stage = ""
        self._total = 0
        self._done = 0
        self._done_at_last_line = 0

    def __enter__(self) -> RichProgress:
        self._began = self._last_line = self._clock()
        if self.console.is_terminal:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.console.is_terminal:
            self._bar.stop()

    def start(self, stage: str, total: int) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(stage, total=total)
        self._stage, self._total, self._done, self._done_at_last_line = stage, total, 0, 0
        if not self.console.is_terminal and self._clock() - self._began >= LINE_SECONDS:
            self._line()

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, steps)
        self._done += steps
        if self.console.is_terminal:
            return
        share = max(1, int(self._total * LINE_SHARE))
        if (
            self._done - self._done_at_last_line >= share
            and self._clock() - self._last_line >= LINE_SECONDS
        ):
            self._line()

    def warn(self, message: str) -> None:
        # a Text, never a markup string: file names like "[bold]x.md" print as they are
        line = Text("warning: ", style="yellow")
        line.append(" ".join(message.split()))
        self.console.print(line, highlight=False, soft_wrap=True)

    def _line(self) -> None:
        counts = f": {self._done}/{self._total}" if self._total > 0 else ""
        self.console.print(Text(self._stage + counts), highlight=False, soft_wrap=True)
        self._last_line = self._clock()
        self._done_at_last_line = self._done
