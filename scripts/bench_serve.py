"""Load figure for ``rag serve``: requests/s and p50/p95 latency of /api/search.

Starts ``rag serve`` in a child process on 127.0.0.1 (so the clients do not share its
GIL), then runs N concurrent clients for a fixed time. Uses the sample corpus (indexed
into a temporary directory) and also indexes/bench-oped2 when that index exists.

    python scripts/bench_serve.py [--seconds 20] [--clients 8] [--index DIR ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _common
import httpx

from rag import Archive, Settings

ROOT = _common.ROOT
QUESTIONS = [
    "中美在COP28上承诺了什么",
    "中国的碳达峰和碳中和目标是什么时候",
    "新闻自由在香港的状况",
    "疫情期间武汉发生了什么",
    "美国总统气候问题特使是谁",
    "损失与损害基金",
    "互联网审查与翻墙",
    "What did China and the US promise before COP28?",
]


def run_clients(url: str, clients: int, seconds: float, mode: str) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=url, timeout=60) as http:
            i = n
            while time.monotonic() < deadline:
                q = QUESTIONS[i % len(QUESTIONS)]
                i += 1
                start = time.perf_counter()
                response = http.get("/api/search", params={"q": q, "k": 5, "mode": mode})
                mine.append(time.perf_counter() - start)
                bad += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors.append(bad)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": sum(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p95_ms": cuts[94] * 1000,
    }


def bench_index(index: Path, clients: int, seconds: float, modes: list[str]) -> None:
    port = _common.free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from rag.cli import main; main()", "serve"]
    server = subprocess.Popen(
        [*command, "--index", str(index), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(url + "/api/health", timeout=5)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the server on {index} did not start")
            time.sleep(0.2)
        info = health.json()
        for mode in modes:
            httpx.get(url + "/api/search", params={"q": QUESTIONS[0], "mode": mode}, timeout=60)
            figures = run_clients(url, clients, seconds, mode)
            print(
                f"{index.name:<14} {info['articles']:>6} art {info['passages']:>7} pas  "
                f"{mode:<8} {clients} clients {seconds:.0f}s: "
                f"{figures['rps']:6.1f} req/s  p50 {figures['p50_ms']:6.0f} ms  "
                f"p95 {figures['p95_ms']:6.0f} ms  ({figures['requests']:.0f} requests, "
                f"{figures['errors']:.0f} errors)",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--modes", default="hybrid", help="comma-separated: hybrid,dense,keyword")
    parser.add_argument("--index", type=Path, action="append", help="index dirs to measure")
    args = parser.parse_args()
    modes = args.modes.split(",")
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load {load}; python {sys.version.split()[0]}")
    indexes = list(args.index or [])
    with tempfile.TemporaryDirectory() as tmp:
        if not indexes:
            sample = Path(tmp) / "sample"
            Archive(Settings(index_dir=sample)).build([str(ROOT / "corpus" / "sample")])
            indexes.append(sample)
            if (ROOT / "indexes" / "bench-oped2" / "CURRENT").exists():
                indexes.append(ROOT / "indexes" / "bench-oped2")
        for index in indexes:
            bench_index(index, args.clients, args.seconds, modes)
    print(f"load after: {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
