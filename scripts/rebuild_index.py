#!/usr/bin/env python3
"""Rebuild an index from scratch (or --update it) in one step: rebuild_index.py PATH...

Same as `rag index build` / `rag index update`; kept as a script for cron jobs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
try:
    from rag.cli import app  # the command line itself: this script is `rag index build/update`
except ModuleNotFoundError as missing:
    if missing.name != "rag":
        raise
    # Run from a plain shell: use the project's .venv (made by `make demo`/`make test`).
    if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.exit("rebuild_index.py: rag is not installed; run `make demo` first to create .venv")


def main() -> None:
    args = sys.argv[1:]
    if "--update" in args:
        args.remove("--update")
        app(["index", "update", *args])
    else:
        app(["index", "build", *args])


if __name__ == "__main__":
    main()
