"""Who holds a lock file: the index's writer lock and a feed pull's lock both keep the
holder's pid in the file, so a refused process can name it."""

from __future__ import annotations

import os
from typing import IO


def holder(handle: IO[str]) -> str:
    """' (pid N)' for the live process whose pid the lock file holds, else ''.

    The file keeps the pid of the last holder after it exits; a holder between taking
    the lock and writing its pid is not named.
    """
    handle.seek(0)
    text = handle.read(32).strip()
    if not text.isdigit():
        return ""
    try:
        os.kill(int(text), 0)
    except (ProcessLookupError, OverflowError):
        return ""
    except PermissionError:  # alive, another user's
        pass
    return f" (pid {text})"
