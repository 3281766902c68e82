"""The MCP server behind ``rag mcp`` (needs the ``mcp`` extra): the archive as four tools.

``search``, ``ask``, ``timeline`` and ``get_article`` each make one ``Archive`` call and
return the JSON ``rag ask --json`` prints (``rag.serialize``) as the tool's structured
content, typed by its output schema (``rag.schemas``), and a short text of it for the
model to read (``rag.mcp.text``). A bad argument, a missing index or an unknown
article comes back as a tool error (``isError``) holding one line; nothing a client sends
stops the server. Over stdio, a line that is not a JSON-RPC message gets the JSON-RPC error
it is owed (``refusal_for``). One archive serves every call and follows newly published
index versions.
"""

from rag.mcp.server import DEFAULT_HTTP_PORT, HTTP_PATH, create_server, serve

__all__ = ["DEFAULT_HTTP_PORT", "HTTP_PATH", "create_server", "serve"]
