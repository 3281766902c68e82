"""What every command module shares: the consoles, the error handling, common options.

Both consoles have markup off: paths, titles and messages print as they are.
"""

from __future__ import annotations

import functools
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from rag.errors import ConfigError, RagError

out = Console(soft_wrap=True, highlight=False, markup=False, emoji=False)
# errors stay on one line whatever the terminal width
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False, emoji=False)

F = TypeVar("F", bound=Callable[..., Any])

IndexOpt = Annotated[
    Path | None,
    typer.Option("--index", help="Index directory [default: indexes/default, or index_dir]."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
SinceOpt = Annotated[str | None, typer.Option(help="Only articles published on/after YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option(help="Only articles published on/before YYYY-MM-DD.")]
SourceOpt = Annotated[
    str | None, typer.Option(help="Only articles whose source/URL contains this.")
]


def error_line(message: str, label: str = "error", style: str = "red") -> Text:
    line = Text(f"{label}: ", style=style)
    line.append(" ".join(message.split()))  # one line, whatever the message held
    return line


def reports_errors(func: F) -> F:
    """Expected problems become one line on stderr, never a traceback.

    Exit code 2 for invalid settings (a usage error, found before any work), 1 for the rest.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            err.print(error_line(str(exc)))
            raise typer.Exit(2) from None
        except RagError as exc:
            err.print(error_line(str(exc)))
            raise typer.Exit(1) from None
        except OSError as exc:  # a full disk, a permission: the system's words, one line
            where = f" ({exc.filename})" if exc.filename else ""
            err.print(error_line(f"{exc.strerror or exc}{where}"))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def ensure_can_listen(host: str, port: int) -> None:
    """Fail with one line, before anything loads, when ``host:port`` cannot be bound (a
    server already there, an address not on this machine); uvicorn would log and exit."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RagError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            hint = (
                "; another server is running there, pick another --port"
                if (
                    exc.errno in (98, 48)  # EADDRINUSE on Linux, macOS
                )
                else ""
            )
            raise RagError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
