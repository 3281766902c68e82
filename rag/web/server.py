"""Run the app with uvicorn: in the foreground (``rag serve``) or in a thread (tests, bench)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rag.config import Settings
from rag.errors import MissingDependencyError, RagError


def _uvicorn() -> Any:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise MissingDependencyError(
            "rag serve needs FastAPI and uvicorn; install them with pip install 'rag-news[serve]'"
        ) from None
    return uvicorn


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config(settings: Settings, host: str, port: int, log_level: str) -> Any:
    uvicorn = _uvicorn()
    from rag.web.app import create_app

    return uvicorn.Config(
        create_app(settings, host),
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        # connections and requests; requests past rag.web.app.MAX_REQUESTS get a JSON 503
        # first, so this only bounds idle connections
        limit_concurrency=1024,
        timeout_keep_alive=10,
    )


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API and page until interrupted."""
    server = _uvicorn().Server(_config(settings, host, port, "info"))
    try:
        server.run()
    except OSError as exc:
        raise RagError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    settings: Settings, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[str]:
    """Serve in a background thread on a free port; yields the base URL."""
    port = port or free_port(host)
    server = _uvicorn().Server(_config(settings, host, port, "warning"))
    thread = threading.Thread(target=server.run, name=f"rag-serve-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
