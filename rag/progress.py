"""Progress reporting hooks: the library reports, the CLI decides how to show it."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, stage: str, total: int) -> None:
        """A new stage of ``total`` steps begins."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current stage are done."""

    def warn(self, message: str) -> None:
        """A one-line problem that does not stop the run."""


class SilentProgress:
    """Reports nothing; warnings are kept in ``warnings``."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)
