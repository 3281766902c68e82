"""The ``rag`` command line: commands, their rendering and progress bars."""

from rag.cli.commands import app, main

__all__ = ["app", "main"]
