"""Lock files: the index's writer lock, a feed pull's and a watch check's. Each is an
``flock`` on a file that keeps the holder's pid, so a refused process can name it; the
system releases the lock when the holder exits, also when it is killed."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Callable
from typing import IO


def take(
    handle: IO[str],
    wait: float,
    refused: Callable[[str], Exception],
    poll: float = 0.1,
) -> None:
    """Take the lock on ``handle``'s file, waiting up to ``wait`` seconds (0: fail at
    once), then raise ``refused(holder(handle))``; once held, write this process's pid.

    The pid is written unbuffered and a failure to write it is ignored: on a full disk
    the lock is held all the same, and closing the file has nothing left to fail.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if time.monotonic() >= deadline:
                raise refused(holder(handle)) from None
            time.sleep(poll)
    with contextlib.suppress(OSError):
        os.ftruncate(handle.fileno(), 0)
        os.pwrite(handle.fileno(), f"{os.getpid()}\n".encode(), 0)


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
