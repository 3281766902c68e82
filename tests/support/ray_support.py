"""What the Ray tests of both tiers share: the marker for tests that need the ray extra,
an article to add, a progress recorder that tells the Ray path from the local one, and a
port nothing listens on."""

from __future__ import annotations

import importlib.util
import socket

import pytest

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="needs the ray extra: pip install 'rag-news[ray]'",
)

NEW_ARTICLE = """---
title: 北京试点社区储能站
source: 测试日报
url: https://example.com/storage-pilot
published: 2024-03-02
---

北京市在三个社区试点建设储能站，白天储存屋顶光伏发电，晚间向社区供电。
试点为期一年，将评估储能站对电网负荷高峰的削减效果，并据此决定是否推广。
"""


class StageRecorder:
    """A ``Progress`` that remembers which stages ran (to tell the Ray path from the local one)."""

    def __init__(self) -> None:
        self.stages: list[str] = []

    def start(self, stage: str, total: int) -> None:
        self.stages.append(stage)

    def advance(self, steps: int = 1) -> None:
        pass

    def warn(self, message: str) -> None:
        pass


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens on it once the probe is closed
