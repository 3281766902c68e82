"""The MCP server: the tools registered on the SDK's server, served over stdio or
streamable HTTP."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from rag.archive import Archive
from rag.config import Settings, served_hosts

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

from rag.mcp.stdio import ScreenedStdin, client_stdin
from rag.mcp.tools import (
    ARTICLE_HELP,
    ASK_HELP,
    INSTRUCTIONS,
    SEARCH_HELP,
    TIMELINE_HELP,
    WATCH_CHECK_HELP,
    ArchiveTools,
    fixable_problem,
    require_sdk,
)

DEFAULT_HTTP_PORT = 8001  # beside rag serve's 8000, so both can run
HTTP_PATH = "/mcp"


def create_server(archive: Archive) -> MCPServer[Any]:
    """An MCP server whose tools answer from ``archive``."""
    require_sdk()
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    class ArchiveServer(MCPServer[Any]):
        """Failures the caller can fix come back as one line after the tool's name."""

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                problem = fixable_problem(exc)
                if problem is None:
                    raise
                raise ToolError(f"Error executing tool {name}: {problem}") from exc.__cause__

        async def run_stdio_async(self) -> None:
            """The SDK's stdio loop, over stdin lines screened by ``ScreenedStdin``."""
            from mcp.server.stdio import stdio_server

            with client_stdin() as wire:
                stdin = ScreenedStdin(wire)
                async with stdio_server(stdin=stdin) as (read_stream, write_stream):
                    stdin.reply_through(write_stream.send)
                    # what MCPServer.run_stdio_async does with the SDK's own stdin (the SDK
                    # offers no public way to hand it other streams)
                    lowlevel = self._lowlevel_server
                    await lowlevel.run(
                        read_stream, write_stream, lowlevel.create_initialization_options()
                    )

    server = ArchiveServer(
        "rag-news",
        title="Chinese news archive",
        instructions=INSTRUCTIONS,
        version=_version(),
        log_level="WARNING",
    )
    tools = ArchiveTools(archive)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    for tool, title, description in (
        (tools.search, "Search the news archive", SEARCH_HELP),
        (tools.ask, "Answer from the news archive", ASK_HELP),
        (tools.timeline, "A story's timeline", TIMELINE_HELP),
        (tools.get_article, "Read an article", ARTICLE_HELP),
    ):
        server.add_tool(tool, title=title, description=description, annotations=read_only)
    # a check records what it returns as shown: not read-only, and not idempotent
    records = ToolAnnotations(read_only_hint=False, idempotent_hint=False, open_world_hint=False)
    server.add_tool(
        tools.watch_check,
        title="Check the watched questions",
        description=WATCH_CHECK_HELP,
        annotations=records,
    )
    return server


def _version() -> str:
    try:
        return metadata.version("rag-news")
    except metadata.PackageNotFoundError:
        return ""


def serve(
    settings: Settings,
    *,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = DEFAULT_HTTP_PORT,
) -> None:
    """Serve the archive of ``settings.index_dir`` over stdio, or streamable HTTP at
    ``http://host:port/mcp``, until the client leaves or the process is interrupted."""
    server = create_server(Archive(settings))
    if http:
        server.run(
            "streamable-http",
            host=host,
            port=port,
            streamable_http_path=HTTP_PATH,
            transport_security=transport_security(settings, host),
        )
    else:
        server.run("stdio")


def transport_security(settings: Settings, host: str) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding check with ``rag serve``'s rule (``rag.config.served_hosts``):
    the loopback names, the address served on and ``allowed_hosts``, any port. (The SDK
    turns its own check on only when bound to a loopback address.)"""
    from mcp.server.transport_security import TransportSecuritySettings

    names = sorted(f"[{n}]" if ":" in n else n for n in served_hosts(settings, host))
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[h for n in names for h in (n, f"{n}:*")],
        allowed_origins=[
            f"{s}://{n}{p}" for n in names for s in ("http", "https") for p in ("", ":*")
        ],
    )
