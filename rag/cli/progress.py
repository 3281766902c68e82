"""Progress bars and warnings for the CLI, on stderr."""

from __future__ import annotations

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


class RichProgress:
    """Implements ``rag.progress.Progress`` with a rich progress bar on stderr.

    The bar only appears on a terminal; stderr redirected to a file (a cron job's log)
    gets the warnings and nothing else.
    """

    def __init__(self, console: Console) -> None:
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

    def __enter__(self) -> RichProgress:
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

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, steps)

    def warn(self, message: str) -> None:
        # a Text, never a markup string: file names like "[bold]x.md" print as they are
        line = Text("warning: ", style="yellow")
        line.append(" ".join(message.split()))
        self.console.print(line, highlight=False, soft_wrap=True)
