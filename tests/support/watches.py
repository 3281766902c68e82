"""Helpers for the watch tests of both tiers: an archive folder of seed-format articles,
and a check run in a child process that can be killed at a chosen point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from support.sample import SAMPLE


def seed_article(title: str, url: str, published: datetime, body: str) -> str:
    """One article in the seed format (epoch ms, [title](url), ------, HTML)."""
    millis = int(published.timestamp() * 1000)
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
    return f"<!--{millis}-->\n[{title}]({url})\n------\n{paragraphs}\n"


def archive_folder(root: Path) -> Path:
    """A copy of the five sample articles under ``root/news``."""
    folder = root / "news"
    shutil.copytree(SAMPLE, folder)
    return folder


# Runs one check of every watch in a child process. With "pause" as its second argument
# it stops once the check has decided what is new, just before recording it, prints
# PAUSED and waits to be killed; otherwise it prints the titles it reported, one a line.
CHECK_SCRIPT = """
import sys, time
from rag import Archive
from rag.config import load_settings
from rag.watch import store

index, mode = sys.argv[1], sys.argv[2]
if mode == "pause":
    def paused(self, *args, **kwargs):
        print("PAUSED", flush=True)
        time.sleep(600)
    store.WatchStore.claim = paused
archive = Archive(load_settings(index_dir=index))
for digest in archive.watches().check():
    for item in digest.items:
        print(item.title, flush=True)
"""


def start_check(index: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", CHECK_SCRIPT, str(index), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
