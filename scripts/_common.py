"""What the scripts share: the project root, a free port, and one line (not a traceback)
when they run with a Python that does not have ``rag`` installed.

The scripts import ``rag`` as the project's environment installs it (``make`` sets up
.venv with ``pip install -e .``). Each script imports this module before anything else
from outside the standard library, so that the check runs first.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if importlib.util.find_spec("rag") is None:
    script = Path(sys.argv[0]).name or "this script"
    sys.exit(
        f"{script}: rag is not installed for {sys.executable}; run `make` (or "
        f"`pip install -e .`) and then .venv/bin/python scripts/{script}"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def cpu_features() -> str:
    """The CPU features a speed figure depends on (vector width, int8/bf16 dot products,
    SHA for checksums), from /proc/cpuinfo; "?" where it cannot be read."""
    wanted = (
        "avx2",
        "avx512f",
        "avx512_vnni",
        "avx_vnni",
        "avx512_bf16",
        "amx_tile",
        "sha_ni",
        "asimd",
        "sha2",
    )
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                present = set(line.split(":", 1)[1].split())
                return " ".join(f for f in wanted if f in present) or "none of " + ",".join(wanted)
    except OSError:
        pass
    return "?"
