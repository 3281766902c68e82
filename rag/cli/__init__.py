"""The ``rag`` command line: commands, their rendering and progress bars."""

from rag.cli import chat as _chat  # noqa: F401  registers rag chat
from rag.cli import verify as _verify  # noqa: F401  registers rag index verify
from rag.cli import watch as _watch  # noqa: F401  registers rag watch
from rag.cli.commands import app, main

__all__ = ["app", "main"]
