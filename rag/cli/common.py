"""What every command module shares: the consoles, the error handling, common options.

Both consoles have markup off: paths, titles and messages print as they are.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from rag.errors import ConfigError, IndexMissingError, MissingDependencyError, RagError

out = Console(soft_wrap=True, highlight=False, markup=False, emoji=False)
# errors stay on one line whatever the terminal width
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False, emoji=False)

F = TypeVar("F", bound=Callable[..., Any])

IndexOpt = Annotated[
    Path | None,
    typer.Option(
        "--index",
        metavar="DIR",
        help="Index folder [default: index_dir; 'rag config' shows where it is].",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
SinceOpt = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="Only articles published on/after YYYY-MM-DD."),
]
UntilOpt = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="Only articles published on/before YYYY-MM-DD."),
]


def choice_option(choices: tuple[str, ...], help_text: str, *names: str) -> Any:
    """An option among ``choices``, listed in --help and completed by the shell; a wrong
    one is refused by Settings (one line naming the choices, exit 2) like any setting."""
    return typer.Option(
        *names,
        metavar="[" + "|".join(choices) + "]",
        help=help_text,
        autocompletion=lambda incomplete: [c for c in choices if c.startswith(incomplete)],
    )


# Placeholders in capitals, as click spells them, instead of typer's <int> and {name}.
_METAVARS = {"int": "INTEGER", "int range": "INTEGER", "float": "NUMBER", "float range": "NUMBER"}
_METAVARS |= {"str": "TEXT", "path": "PATH"}
_FIRST_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")


def summary(help_text: str | None) -> str:
    """The first sentence of a command's help, whole: the summary in the command list."""
    first = " ".join((help_text or "").split("\n\n")[0].split())
    match = _FIRST_SENTENCE.match(first)
    return match[1] if match else first


class Command(TyperCommand):
    """A command whose help speaks click's conventions: QUESTION and [PATHS]... in the usage
    line, INTEGER/PATH/TEXT placeholders, summaries never cut."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is not None or getattr(param, "is_flag", False):
                continue
            if param.param_type_name == "argument":
                param.metavar = (param.name or "").upper()
            else:
                param.metavar = _METAVARS.get(param.type.name, param.type.name.upper())

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                pieces.extend(param.get_usage_pieces(ctx))
                continue
            piece = param.metavar or (param.name or "").upper()
            piece = piece if param.required else f"[{piece}]"
            pieces.append(piece + ("..." if param.nargs != 1 else ""))
        return pieces

    def get_short_help_str(self, limit: int = 45) -> str:
        return summary(self.short_help or self.help)


class Group(TyperGroup):
    """A group of commands whose summary in its parent's list is never cut."""

    def get_short_help_str(self, limit: int = 45) -> str:
        return summary(self.short_help or self.help)


class App(typer.Typer):
    """typer.Typer whose commands and groups follow click's help conventions."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or Command, **kwargs)


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
        except IndexMissingError as exc:
            err.print(error_line(f"{exc}{_where_indexes_are(kwargs.get('index'))}"))
            raise typer.Exit(1) from None
        except RagError as exc:
            err.print(error_line(str(exc)))
            raise typer.Exit(1) from None
        except OSError as exc:  # a full disk, a permission: the system's words, one line
            where = f" ({exc.filename})" if exc.filename else ""
            err.print(error_line(f"{exc.strerror or exc}{where}"))
            raise typer.Exit(1) from None
        except sqlite3.DatabaseError as exc:
            # reached only with index_check = "off": a version is checked when opened
            err.print(
                error_line(
                    f"an index file is damaged ({exc}); run 'rag index verify' to find it "
                    "and rebuild with 'rag index build PATH...'"
                )
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _where_indexes_are(index: Path | None) -> str:
    """What the "no index" error adds: the folder looked at, as an absolute path, where
    that choice came from, and how to choose another."""
    from rag.config import load_settings

    try:
        settings = load_settings(index_dir=index)
    except RagError:
        return ""
    folder = Path(settings.index_dir).expanduser().absolute()
    return (
        f" (looked in {folder}, index_dir from {settings.origin('index_dir')}); "
        "name another with --index DIR, RAG_INDEX_DIR or index_dir in a settings file"
    )


def require_extra(extra: str, command: str, *modules: str) -> None:
    """Fail with one line, before anything is printed or started, when an optional
    dependency of ``command`` is not installed."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(
            f"{command} needs {' and '.join(missing)}; install them with "
            f"pip install 'rag-news[{extra}]'"
        )


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
